namespace VqaPipeline.Integration.Tests;

/// <summary>
/// A database as the system left it before each service owned its schema: every table in <c>public</c>
/// (<c>schema-before-ownership.sql</c>, the script of that version's migrations), and a little of everything in it.
/// </summary>
internal static class LegacyDatabase
{
    public static readonly Guid Collection = Guid.Parse("11111111-0000-0000-0000-000000000001");
    public static readonly Guid ReadyImage = Guid.Parse("22222222-0000-0000-0000-000000000001");
    public static readonly Guid RejectedImage = Guid.Parse("22222222-0000-0000-0000-000000000002");
    public static readonly Guid PendingImage = Guid.Parse("22222222-0000-0000-0000-000000000003");
    public static readonly Guid CompletedJob = Guid.Parse("33333333-0000-0000-0000-000000000001");
    public static readonly Guid StoredRun = Guid.Parse("44444444-0000-0000-0000-000000000001");
    public static readonly Guid QueuedCollectionRun = Guid.Parse("44444444-0000-0000-0000-000000000002");
    public static readonly Guid IngestedMessage = Guid.Parse("55555555-0000-0000-0000-000000000001");
    public static readonly Guid UnsentOutcome = Guid.Parse("55555555-0000-0000-0000-000000000002");

    public static Task<string> SchemaAsync() =>
        File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Legacy", "schema-before-ownership.sql"));

    /// <summary>Rows in every table of the old layout; every number and text below is checked after the upgrade.</summary>
    public static string Data =>
        $$$"""
          INSERT INTO collections (id, name, created_at) VALUES ('{{{Collection}}}', 'catalog', '2026-11-20T10:00:00Z');
          INSERT INTO images (id, collection_id, sha256, object_key, file_name, content_type, size_bytes, format, width, height,
                              preprocessed_object_key, status, rejection_reason, created_at, updated_at) VALUES
            ('{{{ReadyImage}}}', '{{{Collection}}}', repeat('a', 64), 'originals/aaa', 'bag.jpg', 'image/jpeg', 1000, 'jpeg', 640, 480,
             'preprocessed/aaa', 'ready', NULL, '2026-11-20T10:01:00Z', '2026-11-20T10:02:00Z'),
            ('{{{RejectedImage}}}', '{{{Collection}}}', repeat('b', 64), 'originals/bbb', 'broken.png', 'image/png', 10, NULL, NULL, NULL,
             NULL, 'rejected', 'Truncated: cut short', '2026-11-20T10:03:00Z', '2026-11-20T10:04:00Z'),
            ('{{{PendingImage}}}', '{{{Collection}}}', repeat('c', 64), 'originals/ccc', 'late.png', 'image/png', 20, NULL, NULL, NULL,
             NULL, 'pending', NULL, '2026-11-20T10:05:00Z', '2026-11-20T10:05:00Z');
          INSERT INTO labels (id, collection_id, image_id, question, answers, updated_at) VALUES
            (gen_random_uuid(), '{{{Collection}}}', '{{{ReadyImage}}}', 'What material is the bag?', ARRAY['leather', 'leather', 'canvas'],
             '2026-11-20T11:00:00Z');
          INSERT INTO training_runs (id, model_name, request, status, step, total_steps, loss, examples_per_second, worker,
                                     heartbeat_at, model_reference, error, created_at, updated_at) VALUES
            ('{{{StoredRun}}}', 'bags', '{"runId": "{{{StoredRun}}}", "modelName": "bags", "dataset": {"collectionId": null, "objectPrefix": "datasets/bags"}}',
             'completed', 40, 40, 0.5, 3.5, NULL, NULL, 'models/bags/1', NULL, '2026-11-21T09:00:00Z', '2026-11-21T09:30:00Z'),
            ('{{{QueuedCollectionRun}}}', 'bags', '{"runId": "{{{QueuedCollectionRun}}}", "modelName": "bags", "dataset": {"collectionId": "{{{Collection}}}", "objectPrefix": null}}',
             'running', 8, 40, 0.9, 3.1, 'host:1:abc', '2026-11-22T09:05:00Z', NULL, NULL, '2026-11-22T09:00:00Z', '2026-11-22T09:05:00Z');
          INSERT INTO model_versions (id, name, version, object_prefix, training_run_id, training_examples, created_at) VALUES
            (gen_random_uuid(), 'bags', 1, 'models/bags/1', '{{{StoredRun}}}', 120, '2026-11-21T09:30:00Z');
          INSERT INTO question_jobs (id, collection_id, questions, model, model_version, top_k, status, total, done, failed,
                                     failure_reason, created_at, started_at, finished_at, updated_at) VALUES
            ('{{{CompletedJob}}}', '{{{Collection}}}', ARRAY['Is there a bag?'], 'vilt-shapes', 'vilt-shapes#sha256:0123', 2, 'completed',
             2, 1, 1, NULL, '2026-11-23T08:00:00Z', '2026-11-23T08:00:01Z', '2026-11-23T08:00:09Z', '2026-11-23T08:00:09Z');
          INSERT INTO job_images (job_id, image_id, state, reason, updated_at) VALUES
            ('{{{CompletedJob}}}', '{{{ReadyImage}}}', 'answered', NULL, '2026-11-23T08:00:08Z'),
            ('{{{CompletedJob}}}', '{{{RejectedImage}}}', 'failed', 'Truncated: cut short', '2026-11-23T08:00:02Z');
          INSERT INTO job_answers (job_id, image_id, question_index, rank, question, answer, score, model_version, created_at) VALUES
            ('{{{CompletedJob}}}', '{{{ReadyImage}}}', 0, 1, 'Is there a bag?', 'yes', 0.93, 'vilt-shapes#sha256:0123', '2026-11-23T08:00:08Z'),
            ('{{{CompletedJob}}}', '{{{ReadyImage}}}', 0, 2, 'Is there a bag?', 'no', 0.04, 'vilt-shapes#sha256:0123', '2026-11-23T08:00:08Z');
          INSERT INTO indexed_answers (collection_id, image_id, question, question_asked, answer, normalized_answer, rank, score,
                                       model_version, job_id, produced_at) VALUES
            ('{{{Collection}}}', '{{{ReadyImage}}}', 'is there bag', 'Is there a bag?', 'yes', 'yes', 1, 0.93, 'vilt-shapes#sha256:0123',
             '{{{CompletedJob}}}', '2026-11-23T08:00:08Z');
          INSERT INTO indexed_questions (collection_id, question, model_version, question_asked, last_produced_at) VALUES
            ('{{{Collection}}}', 'is there bag', 'vilt-shapes#sha256:0123', 'Is there a bag?', '2026-11-23T08:00:08Z');
          INSERT INTO search_jobs (collection_id, question, model, job_id, status_url, requested_at) VALUES
            ('{{{Collection}}}', 'is there bag', '', '{{{CompletedJob}}}', 'http://127.0.0.1:5080/jobs/{{{CompletedJob}}}', '2026-11-23T08:00:00Z');
          INSERT INTO event_log (message_id, message_type, body, collection_id, image_id, job_id, occurred_at, direction,
                                 dispatched_at, destination) VALUES
            ('{{{IngestedMessage}}}', 'ImageIngested', '{"imageId": "{{{ReadyImage}}}"}', '{{{Collection}}}', '{{{ReadyImage}}}', NULL,
             '2026-11-20T10:01:00Z', 'published', '2026-11-20T10:01:01Z', NULL),
            ('{{{IngestedMessage}}}', 'ImageIngested', '{"imageId": "{{{ReadyImage}}}"}', '{{{Collection}}}', '{{{ReadyImage}}}', NULL,
             '2026-11-20T10:01:00Z', 'consumed', NULL, NULL),
            ('{{{UnsentOutcome}}}', 'ImagePreprocessed', '{"imageId": "{{{ReadyImage}}}"}', '{{{Collection}}}', '{{{ReadyImage}}}', NULL,
             '2026-11-20T10:02:00Z', 'published', NULL, NULL);
          INSERT INTO inbox_messages (consumer, message_id, processed_at) VALUES
            ('preprocessing.ImageIngestedConsumer', '{{{IngestedMessage}}}', '2026-11-20T10:01:30Z');
          """;
}
