using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Data;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Messaging;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.StackTesting;
using VqaPipeline.Training.Data;

namespace VqaPipeline.Integration.Tests;

/// <summary>
/// A deployment of the version before each service owned its schema upgrades in place: provision.sql, then each
/// service's first migration with its own login, and every row is where its owner now keeps it; nothing is lost.
/// </summary>
public sealed class UpgradeTests
{
    [StackFact]
    public async Task A_database_of_the_old_layout_moves_every_row_to_the_schema_of_its_owner_and_keeps_the_old_tables()
    {
        // Created as the old version had it: no schemas, every table in public.
        var database = new ServiceDatabase(provision: false);
        await database.InitializeAsync();
        try
        {
            await database.ExecuteAsync(await LegacyDatabase.SchemaAsync());
            await database.ExecuteAsync(LegacyDatabase.Data);
            var legacyCounts = await CountsAsync(database.ConnectionString, "public");

            await DatabaseProvisioner.ProvisionAsync(database.ConnectionString, ServiceDatabase.ServicePassword);
            await Task.WhenAll(ServiceSchemas.All.Select(schema => schema.MigrateAsync(database.ConnectionStringFor(schema.Service))));

            await using (var ingestion = IngestionDbContext.Open(database.ConnectionString))
            {
                Assert.Equal("catalog", (await ingestion.Collections.SingleAsync()).Name);
                var images = await ingestion.Images.OrderBy(i => i.CreatedAt).ToListAsync();
                Assert.Equal([(LegacyDatabase.ReadyImage, ImageStatus.Ready, "preprocessed/aaa", 640), (LegacyDatabase.RejectedImage, ImageStatus.Rejected, null, null),
                              (LegacyDatabase.PendingImage, ImageStatus.Pending, null, null)],
                    images.Select(i => (i.Id, i.Status, i.PreprocessedObjectKey, i.Width)));
                Assert.Equal("Truncated: cut short", images[1].RejectionReason);
                var label = await ingestion.Labels.SingleAsync();
                Assert.Equal(("What material is the bag?", "leather|leather|canvas"), (label.Question, string.Join('|', label.Answers)));
                var published = await ingestion.EventLog.SingleAsync();
                Assert.Equal((LegacyDatabase.IngestedMessage, nameof(ImageIngested), MessageDirection.Published, true),
                    (published.MessageId, published.MessageType, published.Direction, published.DispatchedAt is not null));
            }

            await using (var preprocessing = PreprocessingDbContext.Open(database.ConnectionString))
            {
                Assert.Equal([(LegacyDatabase.ReadyImage, PreprocessingStatus.Ready), (LegacyDatabase.RejectedImage, PreprocessingStatus.Rejected)],
                    (await preprocessing.Images.OrderBy(i => i.Id).ToListAsync()).Select(i => (i.Id, i.Status)));
                // The outcome still in the old outbox goes out from the new one; the consumed copy is its consumer's.
                var log = await preprocessing.EventLog.OrderBy(e => e.Id).ToListAsync();
                Assert.Equal([(LegacyDatabase.IngestedMessage, MessageDirection.Consumed, false), (LegacyDatabase.UnsentOutcome, MessageDirection.Published, false)],
                    log.Select(e => (e.MessageId, e.Direction, e.DispatchedAt is not null)));
                var inbox = await preprocessing.InboxMessages.SingleAsync();
                Assert.Equal(("preprocessing-image-ingested", LegacyDatabase.IngestedMessage), (inbox.Consumer, inbox.MessageId));
            }

            await using (var inference = InferenceDbContext.Open(database.ConnectionString))
            {
                var job = await inference.QuestionJobs.SingleAsync();
                Assert.Equal((LegacyDatabase.CompletedJob, JobStatus.Completed, 2, 2, 1, 1), (job.Id, job.Status, job.Total, job.ExpectedImages, job.Done, job.Failed));
                Assert.Equal(2, await inference.JobImages.CountAsync());
                Assert.Equal(["yes", "no"], await inference.JobAnswers.OrderBy(a => a.Rank).Select(a => a.Answer).ToListAsync());
                var images = await inference.Images.OrderBy(i => i.CreatedAt).ToListAsync();
                Assert.Equal([("bag.jpg", CollectionImageStatus.Ready), ("broken.png", CollectionImageStatus.Rejected), ("late.png", CollectionImageStatus.Pending)],
                    images.Select(i => (i.FileName, i.Status)));
            }

            await using (var training = TrainingDbContext.Open(database.ConnectionString))
            {
                var runs = await training.TrainingRuns.OrderBy(r => r.CreatedAt).ToListAsync();
                Assert.Equal([(LegacyDatabase.StoredRun, TrainingRunStatus.Completed, "datasets/bags"), (LegacyDatabase.QueuedCollectionRun, TrainingRunStatus.Queued, null)],
                    runs.Select(r => (r.Id, r.Status, r.DatasetPrefix)));
                var version = await training.ModelVersions.SingleAsync();
                Assert.Equal(("bags", 1, 120), (version.Name, version.Version, version.TrainingExamples));
                // The run over a collection is requested again, so that ingestion writes its dataset.
                var requested = await training.EventLog.SingleAsync(e => e.MessageType == nameof(TrainingRequested) && e.DispatchedAt == null);
                Assert.Equal(LegacyDatabase.Collection, requested.CollectionId);
                Assert.Contains(LegacyDatabase.QueuedCollectionRun.ToString(), requested.Body);
            }

            await using (var indexing = IndexingDbContext.Open(database.ConnectionString))
            {
                var answer = await indexing.IndexedAnswers.SingleAsync();
                Assert.Equal(("yes", 0.93, "bag.jpg", "originals/aaa"), (answer.Answer, answer.Score, answer.FileName, answer.ObjectKey));
                Assert.Equal(1, await indexing.IndexedQuestions.CountAsync());
                Assert.Equal(LegacyDatabase.CompletedJob, (await indexing.SearchJobs.SingleAsync()).JobId);
                var ended = await indexing.EndedJobs.SingleAsync();
                Assert.Equal((LegacyDatabase.CompletedJob, "completed", 1, "vilt-shapes#sha256:0123"), (ended.JobId, ended.Status, ended.Answered, ended.ModelVersion));
            }

            // Nothing was taken away: the old tables are as they were, for the operator to drop when satisfied.
            Assert.Equal(legacyCounts, await CountsAsync(database.ConnectionString, "public"));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>Rows per table of <paramref name="schema"/>.</summary>
    private static async Task<string> CountsAsync(string connectionString, string schema)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in await MigrationTests.TablesAsync(connectionString, schema))
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {schema}.\"{table}\"", connection);
            counts[table] = (long)(await command.ExecuteScalarAsync())!;
        }
        return JsonSerializer.Serialize(counts);
    }
}
