using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Messaging.Redelivery;
using VqaPipeline.Preprocessing.Data;

namespace VqaPipeline.Preprocessing;

/// <summary>
/// An image whose <see cref="ImageIngested"/> was given up on (parked past the delivery limit, or failing for a reason
/// no wait cures) is rejected with that reason and announced with <see cref="ImageRejected"/>, like any other rejected
/// image: never pending for ever. An image that already has an outcome keeps it.
/// </summary>
public sealed class ParkedImages(PreprocessingDbContext db, TimeProvider clock, ILogger<ParkedImages> logger)
    : IParkedMessageHandler<ImageIngested>
{
    public async Task ParkedAsync(ImageIngested message, string reason, CancellationToken cancellationToken)
    {
        if (await db.Images.AnyAsync(i => i.Id == message.ImageId, cancellationToken))
            return;
        var rejection = $"preprocessing gave up: {reason}";
        db.Images.Add(new PreprocessedImage
        {
            Id = message.ImageId, CollectionId = message.CollectionId, FileName = message.FileName, ObjectKey = message.ObjectKey,
            Status = PreprocessingStatus.Rejected, RejectionReason = rejection, UpdatedAt = clock.GetUtcNow(),
        });
        db.AddOutgoing(new ImageRejected(message.CollectionId, message.ImageId, rejection)
        {
            FileName = message.FileName, IngestedAt = message.IngestedAt, TeamId = message.TeamId,
        });
        logger.LogError("Image {ImageId} ({FileName}) rejected: {Reason}", message.ImageId, message.FileName, rejection);
    }
}
