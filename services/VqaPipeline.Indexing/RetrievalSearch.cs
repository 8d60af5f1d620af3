using Microsoft.Extensions.Options;
using Npgsql;
using VqaPipeline.Hosting;
using VqaPipeline.Storage;

namespace VqaPipeline.Indexing;

/// <summary>
/// Answers a search from the index: the images whose answer to the normalized question matches, best score first,
/// with short-lived URLs of their originals. A question never asked of the collection (by that model version, when
/// one is named) starts a question job instead, once: later searches get the same job (202) until it has ended and
/// every image it answered is indexed — never a ranking of the images answered so far — then the whole ranking; an
/// empty ranking once the job has ended without any answers; or, when the job failed as a whole, its reason (502),
/// and the next search asks again. Everything a search reads or starts is its caller's team's: the collection as
/// ingestion answers the caller (another team's is unknown, 404), the indexed answers and search jobs by team, and a
/// job started as the caller.
/// </summary>
internal sealed class RetrievalSearch(
    NpgsqlDataSource database, ObjectStore store, JobsClient jobs, KnownCollections collections, IOptions<IndexingOptions> options)
{
    private readonly IndexingOptions _options = options.Value;

    public async Task<IResult> RunAsync(SearchQuery query, Caller caller, CancellationToken cancellationToken)
    {
        bool exists;
        try
        {
            exists = await collections.ExistsAsync(query.CollectionId, caller, cancellationToken);
        }
        catch (ServiceUnavailableException exception)
        {
            return ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, exception.Message);
        }
        if (!exists)
            return ApiProblem.NotFound($"collection {query.CollectionId} does not exist");
        await using var connection = await database.OpenConnectionAsync(cancellationToken);

        string? modelVersion;
        if (await SearchJobAsync(connection, query, caller, transaction: null, cancellationToken) is { } searchJob)
        {
            if (!await IsSettledAsync(connection, query, caller, searchJob, cancellationToken))
                return Accepted(searchJob.Pending);
            if (searchJob.Answered == 0)
            {
                if (searchJob.FailureReason is not { } failure)
                    return EmptyRanking(query, searchJob);
                // Nothing was answered, so nothing can be ranked; the next search asks again (the model may be fixed).
                await ForgetSearchJobAsync(connection, searchJob, cancellationToken);
                return ApiProblem.Of(StatusCodes.Status502BadGateway,
                        $"the question job {searchJob.Pending.JobId} failed: {failure}; searching again asks the question again");
            }
            await ForgetSearchJobAsync(connection, searchJob, cancellationToken);
            modelVersion = searchJob.ModelVersion;
        }
        else
        {
            modelVersion = await AskedModelVersionAsync(connection, query, cancellationToken);
            if (modelVersion is null)
                return await PendingJobAsync(connection, query, caller, cancellationToken);
        }

        var hits = new List<SearchHit>();
        await using (var command = new NpgsqlCommand(
                         """
                         SELECT a.image_id, coalesce(a.file_name, ''), a.object_key, a.score
                         FROM indexed_answers a
                         WHERE a.question = @question AND a.normalized_answer = @answer AND a.collection_id = @collection
                           AND a.team_id = @team AND a.model_version = @version AND a.score >= @minScore
                         ORDER BY a.score DESC, a.image_id
                         LIMIT @limit
                         """, connection))
        {
            command.Parameters.AddWithValue("question", query.NormalizedQuestion);
            command.Parameters.AddWithValue("answer", query.NormalizedAnswer);
            command.Parameters.AddWithValue("collection", query.CollectionId);
            command.Parameters.AddWithValue("team", caller.TeamId);
            command.Parameters.AddWithValue("version", modelVersion);
            command.Parameters.AddWithValue("minScore", query.MinScore);
            command.Parameters.AddWithValue("limit", query.Limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                hits.Add(new SearchHit(reader.GetGuid(0), reader.GetString(1), reader.GetDouble(3),
                    reader.IsDBNull(2) ? null : await store.PresignedGetUrlAsync(reader.GetString(2), _options.UrlLifetime)));
        }
        return TypedResults.Ok(new SearchResponse(query.Question, query.Answer, modelVersion, hits));
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

    /// <summary>Starts the question's job as <paramref name="caller"/> (the jobs API sees the search's caller, not this service).</summary>
    private async Task<IResult> PendingJobAsync(NpgsqlConnection connection, SearchQuery query, Caller caller, CancellationToken cancellationToken)
    {
        var model = query.ModelVersion ?? "";
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Searches for the same unasked question wait here for each other, so only the first starts a job.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", $"search-job|{query.CollectionId}|{query.NormalizedQuestion}|{model}");
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        // Another search may have started the job while this one waited for the lock.
        if (await SearchJobAsync(connection, query, caller, transaction, cancellationToken) is { } searchJob)
            return Accepted(searchJob.Pending);

        var started = await jobs.StartAsync(caller, query.CollectionId, query.Question,
            query.ModelVersion ?? _options.JobModel, _options.JobTopK, cancellationToken);
        if (started.Refusal is { } reason)
            return started.Unavailable
                ? ApiProblem.Of(StatusCodes.Status503ServiceUnavailable, reason)
                : ApiProblem.BadRequest(reason);

        await using (var insert = new NpgsqlCommand(
                         """
                         INSERT INTO search_jobs (team_id, collection_id, question, model, job_id, status_url, requested_at)
                         VALUES (@team, @collection, @question, @model, @job, @statusUrl, clock_timestamp())
                         """, connection, transaction))
        {
            insert.Parameters.AddWithValue("team", caller.TeamId);
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

    /// <summary>
    /// A job a search started and the ranking is waiting for; its status as the inference service announced it.
    /// <paramref name="Answered"/> counts the images the job has answered so far; <paramref name="FailureReason"/> is
    /// set when the job failed as a whole.
    /// </summary>
    private sealed record SearchJob(SearchPending Pending, bool Ended, string ModelVersion, long Answered, string? FailureReason);

    private static async Task<SearchJob?> SearchJobAsync(NpgsqlConnection connection, SearchQuery query, Caller caller,
        NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT s.job_id, s.status_url, e.job_id IS NOT NULL, coalesce(e.model_version, s.model), coalesce(e.answered, 0)::bigint,
                   CASE WHEN e.status = 'failed' THEN coalesce(e.failure_reason, 'no reason recorded') END
            FROM search_jobs s LEFT JOIN ended_jobs e ON e.job_id = s.job_id
            WHERE s.collection_id = @collection AND s.team_id = @team AND s.question = @question AND s.model = @model
            """, connection, transaction);
        command.Parameters.AddWithValue("collection", query.CollectionId);
        command.Parameters.AddWithValue("team", caller.TeamId);
        command.Parameters.AddWithValue("question", query.NormalizedQuestion);
        command.Parameters.AddWithValue("model", query.ModelVersion ?? "");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new SearchJob(new SearchPending(reader.GetGuid(0), reader.GetString(1)), reader.GetBoolean(2),
            reader.GetString(3), reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    /// <summary>
    /// Whether the job has ended and the index holds the answers of every image it answered: answers reach the index
    /// through the broker, so a job can be over in the database while its last answers are still on their way.
    /// </summary>
    private static async Task<bool> IsSettledAsync(NpgsqlConnection connection, SearchQuery query, Caller caller, SearchJob job,
        CancellationToken cancellationToken)
    {
        if (!job.Ended)
            return false;
        if (job.Answered == 0)
            return true;
        // Counted by question and model version rather than by job: another job asking the same question with the
        // same model overwrites the rows' job id, not their number. Answers indexing parked (it could not hold them)
        // never arrive, so they count as settled: the search ranks what it got instead of waiting for ever.
        await using var command = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM indexed_answers
                    WHERE question = @question AND collection_id = @collection AND team_id = @team AND model_version = @version
                      AND rank = 1)
                 + (SELECT count(DISTINCT image_id) FROM event_log
                    WHERE message_type = 'AnswersProduced' AND direction = 'consumed' AND job_id = @job AND parked_at IS NOT NULL)
            """, connection);
        command.Parameters.AddWithValue("question", query.NormalizedQuestion);
        command.Parameters.AddWithValue("collection", query.CollectionId);
        command.Parameters.AddWithValue("team", caller.TeamId);
        command.Parameters.AddWithValue("version", job.ModelVersion);
        command.Parameters.AddWithValue("job", job.Pending.JobId);
        var settled = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return settled >= job.Answered;
    }

    /// <summary>Once its answers are all indexed, the job's question is an asked one like any other.</summary>
    private static async Task ForgetSearchJobAsync(NpgsqlConnection connection, SearchJob job, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("DELETE FROM search_jobs WHERE job_id = @job", connection);
        command.Parameters.AddWithValue("job", job.Pending.JobId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A job that completed without answers (no ready images) or was cancelled before any sends nothing to index: the
    /// search has its answer, an empty ranking, instead of waiting forever.
    /// </summary>
    private static IResult EmptyRanking(SearchQuery query, SearchJob job) =>
        TypedResults.Ok(new SearchResponse(query.Question, query.Answer, job.ModelVersion, []));
}
