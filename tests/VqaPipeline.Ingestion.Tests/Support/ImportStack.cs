using System.Net;
using System.Net.Http.Json;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Preprocessing;
using VqaPipeline.StackTesting;
using VqaPipeline.Storage;

namespace VqaPipeline.Ingestion.Tests.Support;

/// <summary>
/// Ingestion and preprocessing behind the gateway on the local stack, with small listing pages so a few hundred objects
/// take several pages, for bucket imports; the ingestion service can be stopped and started again.
/// </summary>
public sealed class ImportStack : IAsyncLifetime
{
    /// <summary>Keys per listing page in this stack.</summary>
    public const int PageSize = 25;

    private ServiceStack? _stack;

    public ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>A client of the public API (the gateway).</summary>
    public HttpClient Api => Stack.Api;

    public ObjectStore Store => Stack.Store;

    public IngestionDbContext NewDatabase() => Stack.Ingestion();

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "imports",
            InProcess = [Services.Ingestion, Services.Preprocessing],
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                [Services.Ingestion] = new Dictionary<string, string?>
                {
                    ["Imports:PageSize"] = PageSize.ToString(),
                    ["Imports:PollInterval"] = "00:00:02",
                },
            },
            Patience = TimeSpan.FromSeconds(60),
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>A small PNG whose pixels (and so bytes) follow from <paramref name="seed"/>.</summary>
    public static byte[] Png(int seed)
    {
        var pixels = new byte[24 * 16 * 3];
        new Random(seed).NextBytes(pixels);
        return ModelReadyImage.EncodePng(new RgbImage(24, 16, pixels));
    }

    public async Task<Guid> NewCollectionAsync(string purpose)
    {
        using var response = await Api.PostAsJsonAsync("/collections", new { name = $"import-test-{purpose}-{Guid.NewGuid():N}" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<CollectionResponse>())!.Id;
    }

    /// <summary>Puts the objects in <paramref name="bucket"/> as they are, several at once.</summary>
    public Task PutAsync(string bucket, IEnumerable<(string Key, byte[] Bytes)> objects) =>
        Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (item, token) =>
        {
            await using var content = new MemoryStream(item.Bytes);
            await Store.PutAtAsync(bucket, item.Key, content, "application/octet-stream", token);
        });

    /// <summary>Asks for an import and returns its location (the 202's Location header).</summary>
    public async Task<Uri> StartImportAsync(Guid collectionId, string bucket, string prefix)
    {
        using var response = await Api.PostAsJsonAsync($"/collections/{collectionId}/imports", new { bucket, prefix });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted,
            $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var created = (await response.Content.ReadFromJsonAsync<ImportResponse>())!;
        Assert.Equal("running", created.State);
        Assert.Equal($"/collections/{collectionId}/imports/{created.ImportId}", response.Headers.Location!.OriginalString);
        return response.Headers.Location;
    }

    /// <summary>The import's progress, polled until <paramref name="until"/> holds (or the patience runs out).</summary>
    public async Task<ImportResponse> WaitForImportAsync(Uri location, Func<ImportResponse, bool> until, TimeSpan patience)
    {
        var deadline = DateTimeOffset.UtcNow + patience;
        while (true)
        {
            var import = (await Api.GetFromJsonAsync<ImportResponse>(location))!;
            if (until(import))
                return import;
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the import did not get there in {patience}: {import}");
            await Task.Delay(100);
        }
    }
}
