using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VqaPipeline.Messaging.Inbox;
using VqaPipeline.Messaging.Outbox;
using VqaPipeline.Messaging.Replay;

namespace VqaPipeline.Messaging;

/// <summary>Messaging for a service with a database: outbox, inbox, event log and replay.</summary>
public static class MessagingServices
{
    /// <summary>
    /// Registers the service's context as the one the inbox filter, the outbox dispatcher and the replay responder
    /// use. Call after the context itself is registered, and after what prepares the database (migrations), since
    /// hosted services start in order. <paramref name="connectionString"/> is the service's own (its schema's).
    /// </summary>
    public static IServiceCollection AddVqaMessaging<TContext>(this IServiceCollection services, string connectionString)
        where TContext : MessagingDbContext
    {
        services.AddSingleton(new ReplaySource(connectionString));
        return services.AddVqaInbox<TContext>().AddVqaOutbox<TContext>();
    }

    /// <summary>The context the inbox filter records consumed messages with.</summary>
    public static IServiceCollection AddVqaInbox<TContext>(this IServiceCollection services) where TContext : MessagingDbContext
    {
        services.AddScoped<MessagingDbContext>(provider => provider.GetRequiredService<TContext>());
        services.AddScoped<InboxTransaction>();
        AddMessagingMetrics(services);
        return services;
    }

    /// <summary>
    /// The outbox dispatcher of <typeparamref name="TContext"/>, woken whenever the context commits messages added with
    /// <see cref="MessagingDbContext.AddOutgoing"/>; settings from the <c>Outbox</c> section.
    /// </summary>
    public static IServiceCollection AddVqaOutbox<TContext>(this IServiceCollection services) where TContext : MessagingDbContext
    {
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section);
        services.AddSingleton<OutboxSignal>();
        AddMessagingMetrics(services);
        services.ConfigureDbContext<TContext>((provider, db) => db.AddInterceptors(provider.GetRequiredService<OutboxSignal>().Interceptor));
        services.AddHostedService<OutboxDispatcher<TContext>>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<OutboxBacklogMonitor<TContext>>();
        return services;
    }

    /// <summary>
    /// The counters the inbox filter and the outbox record into; every bus needs them, since the filter wraps every
    /// consumer, a host without a database included.
    /// </summary>
    public static void AddMessagingMetrics(IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<MessagingMetrics>();
    }

    /// <summary>The replay responder of <paramref name="service"/>, on its own queue.</summary>
    public static void AddVqaReplayResponder(this IBusRegistrationConfigurator bus, string service) =>
        bus.AddConsumer<ReplayResponder>().Endpoint(endpoint => endpoint.Name = ReplayResponder.QueueOf(service));

    /// <summary>Puts every consumer of the bus behind the <see cref="InboxFilter{TMessage}"/>.</summary>
    public static void UseVqaInbox(this IConsumePipeConfigurator configurator, IRegistrationContext context) =>
        configurator.UseConsumeFilter(typeof(InboxFilter<>), context);
}
