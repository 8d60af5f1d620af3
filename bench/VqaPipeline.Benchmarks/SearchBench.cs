using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using VqaPipeline.Data;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Storage;

namespace VqaPipeline.Benchmarks;

/// <summary>
/// <c>VqaPipeline.Benchmarks search [rows] [queries]</c> (run by <c>infra/local/bench-search.sh</c>): search latency over
/// a generated index. Fills a throwaway database (<c>vqa_bench_&lt;guid&gt;</c> on the <c>VQA_POSTGRES</c> server, dropped
/// afterwards) by binary COPY, then times the search as the endpoint runs it (the query and the presigned URLs, without
/// HTTP) over random queries and prints p50 and p99.
/// </summary>
internal static class SearchBench
{
    /// <summary>The generated index belongs to the team of the data from before teams.</summary>
    private static readonly Caller BenchCaller = new(Guid.Empty, "bench", "viewer");

    internal const int Collections = 10;
    internal const int AnswersPerImage = 10; // 5 questions x 2 ranks
    internal static readonly string[] Questions = ["is there dog", "is it indoors", "what color is car", "how many people are there", "is photo blurry"];
    internal static readonly string[] Vocabulary = ["yes", "no", "2", "3", "red", "blue", "white", "dog", "cat", "car"];

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryCount(args, 0, 1_000_000, out var rows) || !TryCount(args, 1, 400, out var queries))
        {
            await Console.Error.WriteLineAsync("usage: VqaPipeline.Benchmarks search [ROWS (default 1000000)] [QUERIES (default 400)]: positive whole numbers");
            return 2;
        }
        var server = Environment.GetEnvironmentVariable("VQA_POSTGRES")
                     ?? throw new InvalidOperationException("VQA_POSTGRES is not set: eval \"$(infra/local/up.sh --infra-only)\"");
        var database = $"vqa_bench_{Guid.NewGuid():N}";
        await ExecuteAsync(server, $"CREATE DATABASE {database}");
        try
        {
            // The database's owner migrates the indexing schema itself: no roles are needed for a throwaway database.
            var connectionString = ServiceDbContext.WithSearchPath(
                new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString, IndexingService.Name);
            await DatabaseMigrator.MigrateAsync<IndexingDbContext>(connectionString, IndexingService.Name, options => new IndexingDbContext(options));
            var fill = Stopwatch.StartNew();
            var collections = await FillAsync(connectionString, rows);
            Console.WriteLine($"{rows:N0} index rows ({rows / AnswersPerImage:N0} images, {Collections} collections) copied and analysed in {fill.Elapsed.TotalSeconds:0.0} s");

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            using var store = new ObjectStore(ObjectStoreOptions.FromEnvironment());
            var known = new KnownCollections(null!);
            foreach (var collection in collections)
                known.Remember(BenchCaller.TeamId, collection);
            var search = new RetrievalSearch(dataSource, store, new JobsClient(new HttpClient(), new ServiceAddresses(), new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()), known,
                Options.Create(new IndexingOptions()));
            var random = new Random(7);
            SearchQuery RandomQuery() => new("q", Questions[random.Next(Questions.Length)], "a", Vocabulary[random.Next(Vocabulary.Length)],
                new[] { 0.0, 0.3, 0.5 }[random.Next(3)], collections[random.Next(collections.Length)], SearchQuery.DefaultLimit, null);

            for (var i = 0; i < 20; i++) await search.RunAsync(RandomQuery(), BenchCaller, CancellationToken.None); // warm-up
            var milliseconds = await TimeAsync(queries, () => search.RunAsync(RandomQuery(), BenchCaller, CancellationToken.None));
            Console.WriteLine($"{queries} searches (limit 50, with presigned URLs): {Summary(milliseconds)}");
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    private static async Task<Guid[]> FillAsync(string connectionString, int rows)
    {
        var collections = Enumerable.Range(0, Collections).Select(_ => Guid.NewGuid()).ToArray();
        await FillAsync(connectionString, rows, collections, BenchCaller.TeamId, Guid.NewGuid());
        return collections;
    }

    /// <summary>
    /// Copies <paramref name="rows"/> index rows (images spread over <paramref name="collections"/>, 5 questions × 2
    /// ranked answers each) of <paramref name="teamId"/> under one job id, and the collections' questions; analyses both.
    /// </summary>
    internal static async Task FillAsync(string connectionString, int rows, Guid[] collections, Guid teamId, Guid job)
    {
        var random = new Random(1);
        var images = Enumerable.Range(0, rows / AnswersPerImage).Select(i => (Id: Guid.NewGuid(), Collection: collections[i % Collections])).ToArray();
        var now = DateTimeOffset.UtcNow;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        await using (var writer = await connection.BeginBinaryImportAsync(
                         "COPY indexed_answers (collection_id, image_id, file_name, object_key, question, question_asked, answer, normalized_answer, rank, score, model_version, job_id, produced_at, team_id) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var (id, collection) in images)
                foreach (var question in Questions)
                {
                    var first = random.Next(Vocabulary.Length);
                    var second = (first + 1 + random.Next(Vocabulary.Length - 1)) % Vocabulary.Length;
                    var top = random.NextDouble();
                    foreach (var (answer, rank, score) in new[] { (Vocabulary[first], 1, top), (Vocabulary[second], 2, top * random.NextDouble()) })
                    {
                        await writer.StartRowAsync();
                        await writer.WriteAsync(collection, NpgsqlDbType.Uuid);
                        await writer.WriteAsync(id, NpgsqlDbType.Uuid);
                        await writer.WriteAsync($"{id:N}.jpg", NpgsqlDbType.Varchar);
                        await writer.WriteAsync($"originals/{id:N}", NpgsqlDbType.Varchar);
                        await writer.WriteAsync(question, NpgsqlDbType.Varchar);
                        await writer.WriteAsync(question + "?", NpgsqlDbType.Varchar);
                        await writer.WriteAsync(answer, NpgsqlDbType.Varchar);
                        await writer.WriteAsync(answer, NpgsqlDbType.Varchar);
                        await writer.WriteAsync(rank, NpgsqlDbType.Integer);
                        await writer.WriteAsync(score, NpgsqlDbType.Double);
                        await writer.WriteAsync("bench@1", NpgsqlDbType.Varchar);
                        await writer.WriteAsync(job, NpgsqlDbType.Uuid);
                        await writer.WriteAsync(now, NpgsqlDbType.TimestampTz);
                        await writer.WriteAsync(teamId, NpgsqlDbType.Uuid);
                    }
                }
            await writer.CompleteAsync();
        }
        await using (var writer = await connection.BeginBinaryImportAsync(
                         "COPY indexed_questions (collection_id, question, model_version, question_asked, last_produced_at) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var collection in collections)
                foreach (var question in Questions)
                    await writer.WriteRowAsync(default, collection, question, "bench@1", question + "?", now);
            await writer.CompleteAsync();
        }
        await using (var analyze = new NpgsqlCommand("ANALYZE indexed_answers; ANALYZE indexed_questions", connection))
            await analyze.ExecuteNonQueryAsync();
    }

    /// <summary>Runs <paramref name="search"/> <paramref name="count"/> times, one after another; each one's milliseconds, sorted.</summary>
    internal static async Task<List<double>> TimeAsync(int count, Func<Task> search)
    {
        var milliseconds = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            await search();
            milliseconds.Add(watch.Elapsed.TotalMilliseconds);
        }
        milliseconds.Sort();
        return milliseconds;
    }

    /// <summary>p50, p99 and max of sorted timings.</summary>
    internal static string Summary(List<double> sorted) =>
        $"p50 {Percentile(sorted, 0.50):0.00} ms, p99 {Percentile(sorted, 0.99):0.00} ms, max {sorted[^1]:0.00} ms";

    private static double Percentile(List<double> sorted, double quantile) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static bool TryCount(string[] args, int index, int fallback, out int count)
    {
        count = fallback;
        return args.Length <= index || (int.TryParse(args[index], out count) && count > 0);
    }
}
