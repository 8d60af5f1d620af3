using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Integration.Tests.Support;
using VqaPipeline.Messaging;

namespace VqaPipeline.Integration.Tests;

/// <summary>The ingestion schema's constraints, the inbox and the event log, with each service's own login.</summary>
public sealed class DatabaseTests(MigratedDatabase database) : IClassFixture<MigratedDatabase>
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [StackFact]
    public async Task The_same_bytes_twice_in_one_collection_are_refused_with_unique_violation()
    {
        var collection = await AddCollectionAsync();
        var sha256 = RandomSha256();
        await using (var context = NewContext())
        {
            context.Images.Add(NewImage(collection.Id, sha256));
            await context.SaveChangesAsync();
        }

        await using (var context = NewContext())
        {
            context.Images.Add(NewImage(collection.Id, sha256));
            var error = await Assert.ThrowsAsync<DbUpdateException>(() => context.SaveChangesAsync());
            var postgres = Assert.IsType<PostgresException>(error.InnerException);
            Assert.Equal(PostgresErrorCodes.UniqueViolation, postgres.SqlState);
            Assert.Equal("ix_images_collection_id_sha256", postgres.ConstraintName);
        }

        var other = await AddCollectionAsync();
        await using (var context = NewContext())
        {
            context.Images.Add(NewImage(other.Id, sha256));
            await context.SaveChangesAsync();
            Assert.Equal(2, await context.Images.CountAsync(i => i.Sha256 == sha256));
        }
    }

    [StackFact]
    public async Task Collection_names_are_unique()
    {
        var first = await AddCollectionAsync();
        await using var context = NewContext();
        context.Collections.Add(new Collection { Id = Guid.NewGuid(), Name = first.Name, CreatedAt = Now });
        var error = await Assert.ThrowsAsync<DbUpdateException>(() => context.SaveChangesAsync());
        Assert.Equal(PostgresErrorCodes.UniqueViolation, Assert.IsType<PostgresException>(error.InnerException).SqlState);
    }

    [StackFact]
    public async Task Image_status_is_stored_as_lower_case_text_and_read_back()
    {
        var collection = await AddCollectionAsync();
        var image = NewImage(collection.Id, RandomSha256());
        image.Status = ImageStatus.Rejected;
        image.RejectionReason = "not an image: the bytes start with 'PK'";
        await using (var context = NewContext())
        {
            context.Images.Add(image);
            await context.SaveChangesAsync();
        }

        await using (var context = NewContext())
        {
            var status = await context.Database
                .SqlQuery<string>($"SELECT status AS \"Value\" FROM images WHERE id = {image.Id}")
                .SingleAsync();
            Assert.Equal("rejected", status);
            var read = await context.Images.SingleAsync(i => i.Id == image.Id);
            Assert.Equal(ImageStatus.Rejected, read.Status);
            Assert.Equal(image.RejectionReason, read.RejectionReason);
            Assert.Equal(1, await context.Images.CountAsync(i => i.Id == image.Id && i.Status == ImageStatus.Rejected));
        }
    }

    [StackFact]
    public async Task A_consumer_marks_a_message_processed_once()
    {
        var messageId = Guid.NewGuid();
        await using var context = NewContext();

        Assert.True(await context.TryMarkProcessedAsync("preprocessing-image-ingested", messageId, CancellationToken.None));
        Assert.False(await context.TryMarkProcessedAsync("preprocessing-image-ingested", messageId, CancellationToken.None));
        Assert.True(await context.TryMarkProcessedAsync("indexing-answers-produced", messageId, CancellationToken.None));
    }

    [StackFact]
    public async Task Concurrent_redeliveries_let_exactly_one_consumer_through()
    {
        var messageId = Guid.NewGuid();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var context = NewContext();
            return await context.TryMarkProcessedAsync("preprocessing-image-ingested", messageId, CancellationToken.None);
        }));

        Assert.Single(outcomes, processed => processed);
    }

    [StackFact]
    public async Task An_inbox_mark_rolled_back_with_its_transaction_is_forgotten()
    {
        var messageId = Guid.NewGuid();
        await using var context = NewContext();
        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            Assert.True(await context.TryMarkProcessedAsync("preprocessing-image-ingested", messageId, CancellationToken.None));
            await transaction.RollbackAsync();
        }

        Assert.True(await context.TryMarkProcessedAsync("preprocessing-image-ingested", messageId, CancellationToken.None));
    }

    [StackFact]
    public async Task An_event_log_entry_round_trips_through_jsonb()
    {
        var message = new ImageIngested(
            Guid.NewGuid(), Guid.NewGuid(), "originals/" + RandomSha256(), RandomSha256(), "cat \"1\".jpg",
            "image/jpeg", 12345, Now);
        var entry = EventLogEntry.Of(Guid.NewGuid(), message, Now, MessageDirection.Consumed);
        await using (var context = NewContext())
        {
            context.EventLog.Add(entry);
            await context.SaveChangesAsync();
        }

        await using (var context = NewContext())
        {
            var read = await context.EventLog.SingleAsync(e => e.MessageId == entry.MessageId);
            Assert.Equal(nameof(ImageIngested), read.MessageType);
            Assert.Equal(message.CollectionId, read.CollectionId);
            Assert.Equal(message.ImageId, read.ImageId);
            Assert.Null(read.JobId);
            Assert.Equal(Now, read.OccurredAt);
            Assert.Equal(message, JsonSerializer.Deserialize<ImageIngested>(read.Body, JsonSerializerOptions.Web));

            // jsonb, not text: PostgreSQL's JSON operators see the message's fields.
            var sha256 = await context.Database
                .SqlQuery<string>($"SELECT body ->> 'sha256' AS \"Value\" FROM event_log WHERE id = {read.Id}")
                .SingleAsync();
            Assert.Equal(message.Sha256, sha256);
            Assert.Equal("jsonb", await context.Database
                .SqlQuery<string>($"SELECT pg_typeof(body)::text AS \"Value\" FROM event_log WHERE id = {read.Id}")
                .SingleAsync());
        }
    }

    private IngestionDbContext NewContext() => IngestionDbContext.Open(database.ConnectionStringFor(Services.Ingestion));

    private async Task<Collection> AddCollectionAsync()
    {
        var collection = new Collection { Id = Guid.NewGuid(), Name = $"collection-{Guid.NewGuid():N}", CreatedAt = Now };
        await using var context = NewContext();
        context.Collections.Add(collection);
        await context.SaveChangesAsync();
        return collection;
    }

    private static Image NewImage(Guid collectionId, string sha256) => new()
    {
        Id = Guid.NewGuid(),
        CollectionId = collectionId,
        Sha256 = sha256,
        ObjectKey = $"originals/{sha256}",
        FileName = "cat.jpg",
        ContentType = "image/jpeg",
        SizeBytes = 1024,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private static string RandomSha256() => Convert.ToHexStringLower(SHA256.HashData(Guid.NewGuid().ToByteArray()));
}
