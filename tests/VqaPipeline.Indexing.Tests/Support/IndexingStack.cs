using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Indexing.Tests.Support;

/// <summary>
/// Ingestion, preprocessing, inference and indexing in this process behind the gateway, against the local S3 server,
/// a virtual host of their own on the local RabbitMQ and a provisioned database of their own, both deleted afterwards.
/// Question jobs, whether a test or a search starts them, run the tiny fixture model.
/// </summary>
public sealed class IndexingStack : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private ServiceStack? _stack;

    private ServiceStack Stack => _stack ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>The owner's login on the stack's database (for the processes tests start).</summary>
    public string ConnectionString => Stack.Database.ConnectionString;

    /// <summary>The AMQP URL of this stack's virtual host (for the processes tests start).</summary>
    public string BrokerUrl => Stack.BrokerUrl;

    /// <summary>The model a job runs when it names none (<c>VQA_DEFAULT_MODEL</c> of the inference service).</summary>
    public static string JobModel => Fixtures.PathOf("vilt-tiny");

    /// <summary>A client of the public API (the gateway), where the collections and jobs are.</summary>
    public HttpClient Ingestion => Stack.Api;

    /// <summary>A client of the public API (the gateway), where search and replay are.</summary>
    public HttpClient Indexing => Stack.Api;

    /// <summary>The admin key the stack's team was given; what <see cref="Indexing"/> sends.</summary>
    public string ApiKey => Stack.ApiKey;

    /// <summary>The id of the team whose key <see cref="Ingestion"/> and <see cref="Indexing"/> send.</summary>
    public Guid TeamId => Stack.TeamId;

    /// <summary>Another team with an admin key of its own (<see cref="OtherTeam"/>).</summary>
    public Task<OtherTeam> OtherTeamAsync(string name) => OtherTeam.CreateAsync(Stack, name);

    public IndexingDbContext IndexDatabase() => Stack.Indexing();

    public InferenceDbContext JobsDatabase() => Stack.Inference();

    public IngestionDbContext ImagesDatabase() => Stack.Ingestion();

    public VqaPipeline.Preprocessing.Data.PreprocessingDbContext PreprocessingDatabase() => Stack.Preprocessing();

    public async Task InitializeAsync() =>
        _stack = await ServiceStack.StartAsync(new StackOptions
        {
            Purpose = "indexing",
            InProcess = [Services.Ingestion, Services.Preprocessing, Services.Inference, Services.Indexing],
            ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string?>>
            {
                [Services.Inference] = new Dictionary<string, string?> { ["VQA_DEFAULT_MODEL"] = JobModel },
            },
            Patience = Patience,
        });

    public async Task DisposeAsync()
    {
        if (_stack is not null)
            await _stack.DisposeAsync();
    }

    /// <summary>
    /// A new collection (of <paramref name="api"/>'s team; by default the stack's) with every fixture image uploaded and
    /// preprocessed; returns its id and the images by file name.
    /// </summary>
    public async Task<(Guid CollectionId, IReadOnlyDictionary<string, Guid> Images)> NewCollectionWithFixtureImagesAsync(HttpClient? api = null)
    {
        api ??= Ingestion;
        using var created = await api.PostAsJsonAsync("/collections", new { name = $"indexing-{Guid.NewGuid():N}" });
        created.EnsureSuccessStatusCode();
        var collectionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        using var form = new MultipartFormDataContent();
        foreach (var path in Fixtures.Images())
            form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(path)), "files", Path.GetFileName(path));
        using var uploaded = await api.PostAsync($"/collections/{collectionId}/images", form);
        uploaded.EnsureSuccessStatusCode();
        var accepted = (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").EnumerateArray()
            .ToDictionary(image => image.GetProperty("fileName").GetString()!, image => image.GetProperty("imageId").GetGuid());
        Assert.Equal(Fixtures.Images().Count, accepted.Count);
        await WaitUntilAsync(async () =>
        {
            await using var db = ImagesDatabase();
            return !await db.Images.AnyAsync(i => i.CollectionId == collectionId && i.Status == ImageStatus.Pending);
        }, $"images of {collectionId} still pending");
        return (collectionId, accepted);
    }

    /// <summary>
    /// Puts answers into the inference service's outbox as it does itself (each with its image's file name and
    /// original) under <paramref name="teamId"/> (by default the stack's team), and its dispatcher publishes them.
    /// </summary>
    public async Task ProduceAsync(IEnumerable<AnswersProduced> messages, Guid? teamId = null)
    {
        var list = messages.ToList();
        var ids = list.Select(m => m.ImageId).Distinct().ToList();
        Dictionary<Guid, Image> images;
        await using (var ingestion = ImagesDatabase())
            images = await ingestion.Images.AsNoTracking().Where(i => ids.Contains(i.Id)).ToDictionaryAsync(i => i.Id);
        await using var db = JobsDatabase();
        foreach (var message in list)
            db.AddOutgoing(message with
            {
                TeamId = teamId ?? TeamId, FileName = images[message.ImageId].FileName, ObjectKey = images[message.ImageId].ObjectKey,
            });
        await db.SaveChangesAsync();
    }

    /// <summary>Polls <c>GET /jobs/{id}</c> until the job is completed, failed or cancelled; returns its status.</summary>
    public Task<string> WaitForJobAsync(Guid jobId) =>
        Poll.UntilAsync(async () => (await Ingestion.GetFromJsonAsync<JsonElement>($"/jobs/{jobId}")).GetProperty("status").GetString()!,
            status => status is "completed" or "failed" or "cancelled", Patience, status => $"job {jobId} still {status}");

    /// <summary>Polls <paramref name="condition"/> until it holds, within <see cref="Patience"/>.</summary>
    public Task WaitUntilAsync(Func<Task<bool>> condition, string what) => Poll.UntilAsync(condition, Patience, what);

    /// <summary>Polls <paramref name="condition"/> on a fresh index context until it holds.</summary>
    public Task WaitUntilIndexedAsync(Func<IndexingDbContext, Task<bool>> condition, string what) =>
        WaitUntilAsync(async () =>
        {
            await using var db = IndexDatabase();
            return await condition(db);
        }, what);
}

[CollectionDefinition(Name)]
public sealed class IndexingStackCollection : ICollectionFixture<IndexingStack>
{
    public const string Name = "indexing stack";
}
