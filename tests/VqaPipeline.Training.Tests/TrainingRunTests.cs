using VqaPipeline.Ml.Pipelines;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Training;
using VqaPipeline.Storage;
using VqaPipeline.Training.Tests.Support;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Training.Tests;

public sealed class TrainingRunTests(TrainingStack stack) : IClassFixture<TrainingStack>
{
    private static readonly string BaseModel = Fixtures.PathOf("vilt-tiny");

    [StackFact]
    public async Task A_run_over_a_collections_labels_stores_a_model_version_that_answers_with_the_labelled_vocabulary()
    {
        var (collectionId, imageIds) = await stack.NewCollectionAsync(Fixtures.Images().Take(3));
        var labels = imageIds.SelectMany((imageId, index) => new object[]
        {
            new { imageId, question = "What is in the picture?", answers = new[] { $"thing{index}" } },
            new { imageId, question = "Is there a picture?", answers = new[] { "yes", "yes", "no" } },
        }).ToArray();
        (await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", labels)).EnsureSuccessStatusCode();
        var modelName = $"labels-{Guid.NewGuid():N}"[..20];

        var runId = await StartAsync(new { modelName, dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 4, batchSize = 2, saveEvery = 2 });
        var run = await stack.WaitForRunAsync(runId);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal($"models/{modelName}/1", run.GetProperty("model").GetString());
        Assert.Equal(4, run.GetProperty("step").GetInt32());
        // Stored in the team's folder; the team names it models/{name}/1.
        var prefix = $"models/{stack.Stack.TeamId:D}/{modelName}/1";
        await using (var db = stack.NewContext())
        {
            var version = await db.ModelVersions.SingleAsync(m => m.TrainingRunId == runId);
            Assert.Equal((modelName, 1, prefix, 6), (version.Name, version.Version, version.ObjectPrefix, version.TrainingExamples));
            var trained = await db.EventLog.Where(e => e.MessageType == nameof(ModelTrained)).ToListAsync();
            Assert.Single(trained, e => e.Body.Contains(runId.ToString()));
        }

        var keys = (await stack.Store.ListAsync($"{prefix}/")).Select(o => o.Key[$"{prefix}/".Length..]).ToList();
        // The ONNX export beside the weights: question jobs naming the version run it on ONNX Runtime.
        Assert.Subset(keys.ToHashSet(), new HashSet<string> { "config.json", "model.safetensors", "model.onnx", "vocab.txt", "preprocessor_config.json" });
        Assert.DoesNotContain(keys, key => key.StartsWith(TrainingCheckpoints.FolderName + "/"));

        var folder = Directory.CreateTempSubdirectory("vqa-trained-").FullName;
        try
        {
            await stack.Store.DownloadFolderAsync(prefix, folder);
            // The vocabulary holds each question's majority answer (as ViLT builds it): "no" is a minority answer.
            var vocabulary = new HashSet<string> { "thing0", "thing1", "thing2", "yes" };
            Assert.Equal(vocabulary, ModelConfig.Load<ViltConfig>(folder).Id2Label.Values.ToHashSet());
            using var pipeline = VqaEngine.FromPretrained(folder);
            var answers = pipeline.Ask(new VqaPipeline.Ml.Imaging.ImageLoader().LoadFile(Fixtures.Images()[0]), "What is in the picture?", topK: 5);
            Assert.Equal(vocabulary, answers.Answers.Select(a => a.Answer).ToHashSet());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var second = await stack.WaitForRunAsync(
            await StartAsync(new { modelName, dataset = new { collectionId }, baseModel = $"models/{modelName}/1", maxSteps = 2, batchSize = 2 }));
        Assert.Equal("completed", second.GetProperty("status").GetString());
        Assert.Equal($"models/{modelName}/2", second.GetProperty("model").GetString());
    }

    [StackFact]
    public async Task A_model_version_trained_through_the_system_answers_a_question_job()
    {
        var (collectionId, imageIds) = await stack.NewCollectionAsync(Fixtures.Images().Take(3));
        string[] questions = ["What is in the picture?", "Is there a picture?"];
        var labels = imageIds.SelectMany((imageId, index) => new object[]
        {
            new { imageId, question = questions[0], answers = new[] { $"thing{index}" } },
            new { imageId, question = questions[1], answers = new[] { "yes", "yes", "no" } },
        }).ToArray();
        (await stack.Api.PostAsJsonAsync($"/collections/{collectionId}/labels", labels)).EnsureSuccessStatusCode();
        var modelName = $"asked-{Guid.NewGuid():N}"[..20];
        var run = await stack.WaitForRunAsync(
            await StartAsync(new { modelName, dataset = new { collectionId }, baseModel = BaseModel, maxSteps = 2, batchSize = 2 }));
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var model = $"models/{modelName}/1";
        Assert.Equal(model, run.GetProperty("model").GetString());

        const int topK = 3;
        using var submitted = await stack.Api.PostAsJsonAsync("/jobs", new { collectionId, questions, model, topK });
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync());
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var job = await stack.WaitForJobAsync(jobId);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(model, job.GetProperty("modelVersion").GetString());

        var answers = (await stack.Api.GetStringAsync($"/jobs/{jobId}/answers"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(imageIds.Count * questions.Length * topK, answers.Count);
        Assert.All(answers, answer => Assert.Equal(model, answer.GetProperty("modelVersion").GetString()));
        JsonElement config;
        await using (var stored = await stack.Store.GetAsync($"models/{stack.Stack.TeamId:D}/{modelName}/1/config.json"))
            config = (await JsonDocument.ParseAsync(stored)).RootElement;
        var vocabulary = config.GetProperty("id2label").EnumerateObject().Select(label => label.Value.GetString()).ToHashSet();
        Assert.All(answers, answer => Assert.Contains(answer.GetProperty("answer").GetString(), vocabulary));
        Assert.Equal(imageIds.Order(), answers.Select(a => a.GetProperty("imageId").GetGuid()).Distinct().Order());
    }

    [StackFact]
    public async Task A_run_whose_data_cannot_be_read_fails_with_the_reason()
    {
        var prefix = $"datasets/not-vqa-{Guid.NewGuid():N}";
        await using (var readme = new MemoryStream("no questions here\n"u8.ToArray()))
        {
            var staging = Directory.CreateTempSubdirectory("vqa-bad-dataset-").FullName;
            await File.WriteAllTextAsync(Path.Combine(staging, "readme.txt"), "no questions here\n");
            await stack.Store.UploadFolderAsync(staging, prefix);
            Directory.Delete(staging, recursive: true);
        }

        var runId = await StartAsync(new { modelName = "broken", dataset = new { objectPrefix = prefix }, baseModel = BaseModel, maxSteps = 1 });
        var run = await stack.WaitForRunAsync(runId);

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.False(string.IsNullOrWhiteSpace(run.GetProperty("error").GetString()));
        await using var db = stack.NewContext();
        Assert.Single(await db.EventLog.Where(e => e.MessageType == nameof(TrainingFailed)).ToListAsync(),
            e => e.Body.Contains(runId.ToString()));
        Assert.False(await db.ModelVersions.AnyAsync(m => m.TrainingRunId == runId));
    }

    [StackFact]
    public async Task A_request_the_service_cannot_run_is_refused_with_the_reason()
    {
        var (collectionId, _) = await stack.NewCollectionAsync(Fixtures.Images().Take(1));
        var cases = new (object Body, string Reason)[]
        {
            (new { modelName = "Bad Name", dataset = new { collectionId }, baseModel = BaseModel },
                "'modelName' must be 1-100 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"),
            (new { modelName = "m", baseModel = BaseModel },
                "'dataset' must name exactly one of 'collectionId' (its labels) or 'objectPrefix' (a VQA dataset in object storage)"),
            (new { modelName = "m", dataset = new { collectionId }, baseModel = BaseModel },
                $"collection {collectionId} has no labels to train on (POST /collections/{collectionId}/labels first)"),
            (new { modelName = "m", dataset = new { objectPrefix = $"nothing-{Guid.NewGuid():N}" }, baseModel = BaseModel },
                "nothing is stored under"),
            // Team-owned folders of the bucket: another team's models, images and collection datasets are there.
            (new { modelName = "m", dataset = new { objectPrefix = "models" }, baseModel = BaseModel },
                "'objectPrefix' must name a dataset folder of its own"),
            (new { modelName = "m", dataset = new { objectPrefix = "datasets/training-runs/" }, baseModel = BaseModel },
                "'objectPrefix' must name a dataset folder of its own"),
            (new { modelName = "m", dataset = new { objectPrefix = "datasets" }, baseModel = BaseModel },
                "'objectPrefix' must name a dataset folder of its own"),
        };
        foreach (var (body, reason) in cases)
        {
            using var response = await stack.Api.PostAsJsonAsync("/training-runs", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        // A collection named in the body that the team does not have is not there: 404, as for an id in the path.
        using (var unknown = await stack.Api.PostAsJsonAsync("/training-runs",
                   new { modelName = "m", dataset = new { collectionId = Guid.Empty }, baseModel = BaseModel }))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal($"collection {Guid.Empty} does not exist",
                (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        var labelled = await stack.NewCollectionAsync(Fixtures.Images().Skip(1).Take(1));
        (await stack.Api.PostAsJsonAsync($"/collections/{labelled.CollectionId}/labels",
            new[] { new { imageId = labelled.ImageIds[0], question = "Is it?", answers = new[] { "yes" } } })).EnsureSuccessStatusCode();
        var badSettings = new (object Body, string Reason)[]
        {
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId } }, "name exactly one starting point"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, baseModel = "models/none/7" }, "model 'models/none/7' is not in object storage"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, baseModel = "./no/such/folder" },
                "model folder './no/such/folder' must be an absolute path on the workers' disks"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, fromConfig = new { hidden_size = 8 } },
                "'fromConfig' needs 'tokenizer'"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, baseModel = BaseModel, batchSize = 0 }, "'batchSize' must be 1 to 512"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, baseModel = BaseModel, learningRate = -1 }, "'learningRate' must be positive"),
            (new { modelName = "m", dataset = new { collectionId = labelled.CollectionId }, baseModel = BaseModel, dtype = "float16" }, "'dtype' must be float32 or bfloat16"),
        };
        foreach (var (body, reason) in badSettings)
        {
            using var response = await stack.Api.PostAsJsonAsync("/training-runs", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        using var missing = await stack.Api.GetAsync($"/training-runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private Task<Guid> StartAsync(object body) => stack.StartRunAsync(body);
}
