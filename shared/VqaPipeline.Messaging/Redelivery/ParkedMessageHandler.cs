namespace VqaPipeline.Messaging.Redelivery;

/// <summary>
/// What a service does when one of its consumers gives up on a message of type <typeparamref name="TMessage"/>: marks
/// what the message was about (an image, a job, a run) failed with <c>reason</c>, so it never waits for ever. Runs in
/// the transaction that parks the message (on the service's context, which the caller saves and commits).
/// Register it with <see cref="ParkedMessages.AddParkedMessageHandler{TMessage, THandler}"/>.
/// </summary>
public interface IParkedMessageHandler<in TMessage> where TMessage : class
{
    /// <summary>Fails what <paramref name="message"/> is about with <paramref name="reason"/>.</summary>
    Task ParkedAsync(TMessage message, string reason, CancellationToken cancellationToken);
}

/// <summary>Registration and dispatch of <see cref="IParkedMessageHandler{TMessage}"/>s.</summary>
public static class ParkedMessages
{
    /// <summary>Registers <typeparamref name="THandler"/> (scoped, beside the service's context).</summary>
    public static Microsoft.Extensions.DependencyInjection.IServiceCollection AddParkedMessageHandler<TMessage, THandler>(
        this Microsoft.Extensions.DependencyInjection.IServiceCollection services)
        where TMessage : class where THandler : class, IParkedMessageHandler<TMessage> =>
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions
            .AddScoped<IParkedMessageHandler<TMessage>, THandler>(services);

    /// <summary>Runs every handler registered for <paramref name="message"/>'s runtime type.</summary>
    internal static async Task NotifyAsync(IServiceProvider services, object message, string reason, CancellationToken cancellationToken)
    {
        var handlerType = typeof(IParkedMessageHandler<>).MakeGenericType(message.GetType());
        var handlers = (IEnumerable<object?>)services.GetService(typeof(IEnumerable<>).MakeGenericType(handlerType))!;
        var parked = handlerType.GetMethod(nameof(IParkedMessageHandler<object>.ParkedAsync))!;
        foreach (var handler in handlers)
            await (Task)parked.Invoke(handler, [message, reason, cancellationToken])!;
    }
}
