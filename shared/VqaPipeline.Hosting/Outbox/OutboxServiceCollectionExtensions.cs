using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Data;

namespace VqaPipeline.Hosting.Outbox;

/// <summary>Turns on the transactional outbox for a service.</summary>
public static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// Runs the <see cref="OutboxDispatcher"/> in the host and wakes it whenever a <see cref="VqaDbContext"/> commits
    /// messages added with <see cref="VqaDbContext.AddOutgoing{TMessage}"/>. Needs the service's
    /// <see cref="VqaDbContext"/> and MassTransit bus registered; settings from the <c>Outbox</c> section. Call it
    /// after registering what prepares the database (migrations), since hosted services start in order.
    /// </summary>
    public static IServiceCollection AddOutboxDispatcher(this IServiceCollection services)
    {
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section);
        services.AddSingleton<OutboxSignal>();
        services.ConfigureDbContext<VqaDbContext>((provider, db) =>
            db.AddInterceptors(provider.GetRequiredService<OutboxSignal>().Interceptor));
        services.AddHostedService<OutboxDispatcher>();
        return services;
    }
}
