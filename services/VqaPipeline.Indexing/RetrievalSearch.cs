using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Storage;

namespace VqaPipeline.Indexing;

/// <summary>
/// Answers a search from the index: the images whose answer to the normalized question matches, best score first,
/// with short-lived URLs of their originals. A question never asked of the collection (by that model version, when
/// one is named) starts a question job instead, once: later searches get the same job until its answers arrive, or
/// an empty ranking once the job has ended without any answers.
/// </summary>
internal sealed class RetrievalSearch(NpgsqlDataSource database, ObjectStore store, JobsClient jobs, IOptions<IndexingOptions> options)
{
    private readonly IndexingOptions _options = options.Value;

    public async Task<IResult> RunAsync(SearchQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        if (!await CollectionExistsAsync(connection, query.CollectionId, cancellationToken))
            return TypedResults.NotFound(new ErrorResponse($"collection {query.CollectionId} does not exist"));

        var modelVersion = await AskedModelVersionAsync(connection, query, cancellationToken);
        if (modelVersion is null)
            return await PendingJobAsync(connection, query, cancellationToken);

        var hits = new List<SearchHit>();
        await using (var command = new NpgsqlCommand(
                         """
                         SELECT a.image_id, i.file_name, i.object_key, a.score
                         FROM indexed_answers a JOIN images i ON i.id = a.image_id
                         WHERE a.question = @question AND a.normalized_answer = @answer AND a.collection_id = @collection
                           AND a.model_version = @version AND a.score >= @minScore
                         ORDER BY a.score DESC, a.image_id
                         LIMIT @limit
                         """, connection))
        {
            command.Parameters.AddWithValue("question", query.NormalizedQuestion);
            command.Parameters.AddWithValue("answer", query.NormalizedAnswer);
            command.Parameters.AddWithValue("collection", query.CollectionId);
            command.Parameters.AddWithValue("version", modelVersion);
            command.Parameters.AddWithValue("minScore", query.MinScore);
            command.Parameters.AddWithValue("limit", query.Limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                hits.Add(new SearchHit(reader.GetGuid(0), reader.GetString(1),
                    reader.GetDouble(3), await store.PresignedGetUrlAsync(reader.GetString(2), _options.UrlLifetime)));
        }
        return TypedResults.Ok(new SearchResponse(query.Question, query.Answer, modelVersion, hits));
    }

    private static async Task<bool> CollectionExistsAsync(NpgsqlConnection connection, Guid collectionId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM collections WHERE id = @id)", connection);
        command.Parameters.AddWithValue("id", collectionId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The model version named, if it answered the question; else the one that answered it last; else <c>null</c>.</summary>
    private static async Task<string?> AskedModelVersionAsync(NpgsqlConnection connection, SearchQuery query, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT model_version FROM indexed_questions
            WHERE collection_id = @collection AND question = @question AND (@version::text IS NULL OR model_version = @version)
            ORDER BY last_produced_at DESC, model_version
            LIMIT 1
            """, connection);
        command.Parameters.AddWithValue("collection", query.CollectionId);
        command.Parameters.AddWithValue("question", query.NormalizedQuestion);
        command.Parameters.Add(new NpgsqlParameter<string?>("version", query.ModelVersion));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private async Task<IResult> PendingJobAsync(NpgsqlConnection connection, SearchQuery query, CancellationToken cancellationToken)
    {
        var model = query.ModelVersion ?? "";
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Searches for the same unasked question wait here for each other, so only the first starts a job.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", $"search-job|{query.CollectionId}|{query.NormalizedQuestion}|{model}");
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var pending = new NpgsqlCommand(
                         """
                         SELECT s.job_id, s.status_url, coalesce(j.model_version, j.model),
                                coalesce(j.status IN ('completed', 'failed', 'cancelled')
                                         AND NOT EXISTS (SELECT 1 FROM job_answers a WHERE a.job_id = s.job_id), false)
                         FROM search_jobs s LEFT JOIN question_jobs j ON j.id = s.job_id
                         WHERE s.collection_id = @collection AND s.question = @question AND s.model = @model
                         """,
                         connection, transaction))
        {
            pending.Parameters.AddWithValue("collection", query.CollectionId);
            pending.Parameters.AddWithValue("question", query.NormalizedQuestion);
            pending.Parameters.AddWithValue("model", model);
            await using var reader = await pending.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                // A job that ended without answers (no ready images, a model that would not load, cancelled early)
                // sends nothing to index: the search has its answer, an empty ranking, instead of waiting forever.
                if (reader.GetBoolean(3))
                    return TypedResults.Ok(new SearchResponse(query.Question, query.Answer, reader.GetString(2), []));
                return Accepted(new SearchPending(reader.GetGuid(0), reader.GetString(1)));
            }
        }

        var started = await jobs.StartAsync(query.CollectionId, query.Question,
            query.ModelVersion ?? _options.JobModel, _options.JobTopK, cancellationToken);
        if (started.Refusal is { } reason)
            return started.Unavailable
                ? TypedResults.Json(new ErrorResponse(reason), statusCode: StatusCodes.Status503ServiceUnavailable)
                : TypedResults.BadRequest(new ErrorResponse(reason));

        await using (var insert = new NpgsqlCommand(
                         """
                         INSERT INTO search_jobs (collection_id, question, model, job_id, status_url, requested_at)
                         VALUES (@collection, @question, @model, @job, @statusUrl, now())
                         """, connection, transaction))
        {
            insert.Parameters.AddWithValue("collection", query.CollectionId);
            insert.Parameters.AddWithValue("question", query.NormalizedQuestion);
            insert.Parameters.AddWithValue("model", model);
            insert.Parameters.AddWithValue("job", started.JobId);
            insert.Parameters.AddWithValue("statusUrl", started.StatusUrl);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return Accepted(new SearchPending(started.JobId, started.StatusUrl));
    }

    private static IResult Accepted(SearchPending pending) => TypedResults.Accepted(pending.StatusUrl, pending);
}
