using MassTransit;
using Microsoft.Extensions.Options;

namespace VqaPipeline.Inference;

/// <summary>
/// The inference service's only way out to the bus. Every message is first logged in <c>event_log</c> in the same
/// transaction as the state it announces; it is sent here after that commit, with the logged message id (a
/// transactional outbox can take this method's place without touching the consumers).
/// </summary>
public sealed class MessageSender(IOptions<InferenceOptions> options)
{
    private readonly Uri _batchQueue = new($"queue:{options.Value.BatchQueueName}");

    /// <summary>Publishes events; sends <see cref="Contracts.V1.ImageBatchRequested"/> commands to the batch queue.</summary>
    public async Task PublishAfterCommitAsync(ConsumeContext context, IEnumerable<(object Message, Guid MessageId)> messages)
    {
        foreach (var (message, messageId) in messages)
        {
            if (message is Contracts.V1.ImageBatchRequested)
            {
                var endpoint = await context.GetSendEndpoint(_batchQueue);
                await endpoint.Send(message, message.GetType(), send => send.MessageId = messageId, context.CancellationToken);
            }
            else
            {
                await context.Publish(message, message.GetType(), publish => publish.MessageId = messageId, context.CancellationToken);
            }
        }
    }
}
