using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using VqaPipeline.Data;
using VqaPipeline.Indexing;

namespace VqaPipeline.Benchmarks;

/// <summary>
/// <c>VqaPipeline.Benchmarks search-gateway [rows] [queries]</c> (run by <c>infra/local/bench-search.sh --gateway</c>):
/// search latency as a client sees it, through the gateway of running services. Makes ten collections through the
/// API (the key's team owns them), copies the generated index rows of those collections straight into indexing's schema
/// (logging in as the indexing role, whose table it is), then times <c>GET /search</c> requests end to end — the
/// gateway's key check and proxying, the indexing service's query and presigned URLs — and prints p50, p99 and max.
/// The rows it copied are deleted at the end; the empty collections stay (their ids are printed).
/// </summary>
internal static class GatewaySearchBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (!SearchBench.TryCount(args, 0, 1_000_000, out var rows) || !SearchBench.TryCount(args, 1, 400, out var queries))
        {
            await Console.Error.WriteLineAsync("usage: VqaPipeline.Benchmarks search-gateway [ROWS (default 1000000)] [QUERIES (default 400)]: positive whole numbers");
            return 2;
        }
        var server = Environment.GetEnvironmentVariable("VQA_POSTGRES")
                     ?? throw new InvalidOperationException("VQA_POSTGRES is not set: eval \"$(infra/local/up.sh)\"");
        var servicePassword = Environment.GetEnvironmentVariable("VQA_POSTGRES_SERVICE_PASSWORD")
                              ?? throw new InvalidOperationException("VQA_POSTGRES_SERVICE_PASSWORD is not set: eval \"$(infra/local/up.sh)\"");
        var key = Environment.GetEnvironmentVariable("VQA_API_KEY")
                  ?? throw new InvalidOperationException("VQA_API_KEY is not set: eval \"$(infra/local/up.sh)\" prints it");
        using var api = new HttpClient
        {
            BaseAddress = new Uri(Environment.GetEnvironmentVariable("VQA_API_URL") ?? "http://127.0.0.1:5080"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var me = await ReadAsync<Me>(await api.GetAsync("/me"), "GET /me");
        var collections = new Guid[SearchBench.Collections];
        for (var i = 0; i < collections.Length; i++)
            collections[i] = (await ReadAsync<Created>(
                await api.PostAsJsonAsync("/collections", new { name = $"bench-search-{DateTime.UtcNow:yyyyMMddHHmmss}-{i}" }), "POST /collections")).Id;
        Console.WriteLine($"team {me.Team}: collections {string.Join(", ", collections)}");

        var indexing = ServiceDbContext.WithSearchPath(new NpgsqlConnectionStringBuilder(server)
        {
            Username = $"vqa_{IndexingService.Name}", Password = servicePassword,
        }.ConnectionString, IndexingService.Name);
        var job = Guid.NewGuid();
        try
        {
            var fill = Stopwatch.StartNew();
            await SearchBench.FillAsync(indexing, rows, collections, me.TeamId, job);
            Console.WriteLine($"{rows:N0} index rows ({rows / SearchBench.AnswersPerImage:N0} images, {collections.Length} collections) copied and analysed in {fill.Elapsed.TotalSeconds:0.0} s");

            var random = new Random(7);
            string RandomSearch() =>
                $"/search?collection={collections[random.Next(collections.Length)]}"
                + $"&question={Uri.EscapeDataString(SearchBench.Questions[random.Next(SearchBench.Questions.Length)])}"
                + $"&answer={Uri.EscapeDataString(SearchBench.Vocabulary[random.Next(SearchBench.Vocabulary.Length)])}"
                + $"&minScore={new[] { "0", "0.3", "0.5" }[random.Next(3)]}&limit=50";

            // Warm-up, and a check that the searches find what was copied (a wrong team or question would time nothing).
            var found = 0;
            for (var i = 0; i < 20; i++)
                found += (await ReadAsync<Ranking>(await api.GetAsync(RandomSearch()), "GET /search")).Results?.Count ?? 0;
            if (found == 0)
                throw new InvalidOperationException("the warm-up searches found none of the copied rows");
            var milliseconds = await SearchBench.TimeAsync(queries, async () =>
            {
                var url = RandomSearch();
                using var response = await api.GetAsync(url);
                await response.Content.ReadAsByteArrayAsync();
                // 200 only: a 202 would mean a question job was started instead of a ranking.
                if (response.StatusCode != System.Net.HttpStatusCode.OK)
                    throw new InvalidOperationException($"GET {url}: {(int)response.StatusCode}");
            });
            Console.WriteLine($"{queries} searches through the gateway (limit 50, with presigned URLs): {SearchBench.Summary(milliseconds)}");
            return 0;
        }
        finally
        {
            var cleanup = Stopwatch.StartNew();
            await using var connection = new NpgsqlConnection(indexing);
            await connection.OpenAsync();
            await using var delete = new NpgsqlCommand(
                "DELETE FROM indexed_answers WHERE job_id = @job; DELETE FROM indexed_questions WHERE collection_id = ANY(@collections)", connection)
            {
                CommandTimeout = 0,
            };
            delete.Parameters.AddWithValue("job", job);
            delete.Parameters.AddWithValue("collections", collections);
            await delete.ExecuteNonQueryAsync();
            Console.WriteLine($"the copied rows deleted in {cleanup.Elapsed.TotalSeconds:0.0} s");
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string what)
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return await response.Content.ReadFromJsonAsync<T>() ?? throw new InvalidOperationException($"{what}: an empty answer");
        }
    }

    private sealed record Me(string Team, Guid TeamId);

    private sealed record Created(Guid Id);

    private sealed record Ranking(IReadOnlyList<object>? Results);
}
