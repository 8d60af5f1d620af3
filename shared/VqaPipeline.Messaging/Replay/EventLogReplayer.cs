using System.Text;
using System.Text.Json;
using MassTransit;
using Npgsql;

namespace VqaPipeline.Messaging.Replay;

/// <summary>
/// Republishes messages from one service's event log (the connection's search path names its schema), in the order
/// they occurred: the messages that service published. A message logged several times is replayed once. Each replayed message gets a new message id and carries the
/// original's in <see cref="ReplayHeaders.ReplayOf"/>; nothing is written to the event log here, so replaying a range
/// twice replays the same messages twice and no more.
/// </summary>
public sealed class EventLogReplayer(string connectionString)
{
    /// <summary>How many distinct messages <paramref name="filter"/> selects.</summary>
    public async Task<int> CountAsync(ReplayFilter filter, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var (where, parameters) = WhereClause(filter);
        await using var command = new NpgsqlCommand($"SELECT count(DISTINCT message_id) FROM event_log WHERE {where}", connection);
        command.Parameters.AddRange(parameters);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>Publishes every message <paramref name="filter"/> selects through <paramref name="publisher"/>; returns how many.</summary>
    public async Task<int> ReplayAsync(ReplayFilter filter, IPublishEndpoint publisher, CancellationToken cancellationToken = default,
        IProgress<int>? progress = null)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var (where, parameters) = WhereClause(filter);
        await using var command = new NpgsqlCommand(
            $"""
             SELECT message_id, body::text FROM (
                 SELECT DISTINCT ON (message_id) id, message_id, body, occurred_at
                 FROM event_log WHERE {where}
                 ORDER BY message_id, id) AS first_logged
             ORDER BY occurred_at, id
             """, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var republished = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var originalId = reader.GetGuid(0);
            var message = JsonSerializer.Deserialize(reader.GetString(1), filter.ClrType, JsonSerializerOptions.Web)
                ?? throw new InvalidDataException($"event log message {originalId} has a null body");
            // Awaited one by one: consumers see the messages in the order they first occurred.
            await publisher.Publish(message, filter.ClrType, context =>
            {
                context.MessageId = NewId.NextGuid();
                context.Headers.Set(ReplayHeaders.ReplayOf, originalId.ToString());
            }, cancellationToken);
            progress?.Report(++republished);
        }
        return republished;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static (string Where, NpgsqlParameter[] Parameters) WhereClause(ReplayFilter filter)
    {
        var where = new StringBuilder("message_type = @type");
        var parameters = new List<NpgsqlParameter> { new("type", filter.MessageType) };
        void Add(string condition, string name, object value)
        {
            where.Append(" AND ").Append(condition);
            parameters.Add(new NpgsqlParameter(name, value));
        }
        if (filter.From is { } from) Add("occurred_at >= @from", "from", from.ToUniversalTime());
        if (filter.To is { } to) Add("occurred_at < @to", "to", to.ToUniversalTime());
        if (filter.CollectionId is { } collectionId) Add("collection_id = @collection", "collection", collectionId);
        if (filter.JobId is { } jobId) Add("job_id = @job", "job", jobId);
        // Only what the service sent: its consumers' copies of other services' messages are not its to replay.
        where.Append(" AND direction = 'published'");
        return (where.ToString(), parameters.ToArray());
    }
}
