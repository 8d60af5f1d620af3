using VqaPipeline.Ml.Pipelines;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using VqaPipeline.Inference.Tests.Support;
using VqaPipeline.Hosting;
using VqaPipeline.Ingestion;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Storage;

namespace VqaPipeline.Inference.Tests;

[Collection(InProcessCollection.Name)]
public sealed class JobTests(InProcessPipeline pipeline)
{
    private const double ScoreTolerance = 1e-4;

    [StackFact]
    public async Task Every_stored_answer_equals_the_engines_and_both_exports_equal_the_database()
    {
        var paths = Fixtures.Images();
        var collectionId = await pipeline.NewCollectionAsync("e2e");
        var images = await pipeline.IngestAsync(collectionId, paths.Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))));
        var questions = TestData.Questions(3);
        const int topK = 5;

        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, topK);
        var job = await pipeline.WaitForJobAsync(jobId);

        Assert.Equal(("completed", paths.Count, paths.Count, 0), (job.Status, job.Total, job.Done, job.Failed));
        Assert.Equal(0, job.EtaSeconds);
        Assert.StartsWith(Path.GetFullPath(TestData.TinyModel) + "#sha256:", job.ModelVersion);
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, topK);
        var stored = await TestData.AnswersAsync(db, jobId);
        // The job ends when its last answers are stored, not when the transaction storing them began (which opened
        // before the engine ran). One host here, so the service's clock and the database's agree.
        var lastAnswer = await db.JobAnswers.Where(a => a.JobId == jobId).MaxAsync(a => a.CreatedAt);
        var lastImage = await db.JobImages.Where(i => i.JobId == jobId).MaxAsync(i => i.UpdatedAt);
        Assert.True(job.FinishedAt >= lastAnswer && lastImage >= lastAnswer,
            $"finished {job.FinishedAt:O}, last image {lastImage:O}, last answer stored {lastAnswer:O}");
        using var engine = VqaEngine.FromPretrained(TestData.TinyModel);
        var loader = new ImageLoader();
        foreach (var image in images)
        {
            var pixels = loader.LoadFile(paths.Single(p => Path.GetFileName(p) == image.FileName));
            for (var q = 0; q < questions.Count; q++)
            {
                var expected = engine.Ask(pixels, questions[q], topK).Answers;
                var actual = stored.Where(a => a.ImageId == image.Id && a.QuestionIndex == q).ToList();
                Assert.Equal(expected.Select(a => a.Answer), actual.Select(a => a.Answer));
                foreach (var (e, a) in expected.Zip(actual))
                    Assert.True(Math.Abs(e.Score - a.Score) <= ScoreTolerance, $"{image.FileName} / {questions[q]} / {e.Answer}: {e.Score} vs {a.Score}");
                Assert.All(actual, a => Assert.Equal((questions[q], job.ModelVersion), (a.Question, a.ModelVersion)));
            }

            var cli = await AskWithCliAsync(paths.Single(p => Path.GetFileName(p) == image.FileName), questions, TestData.TinyModel, topK);
            for (var q = 0; q < questions.Count; q++)
            {
                var actual = stored.Where(a => a.ImageId == image.Id && a.QuestionIndex == q).ToList();
                Assert.Equal(cli[q].Select(a => a.Answer), actual.Select(a => a.Answer));
                foreach (var (e, a) in cli[q].Zip(actual))
                    Assert.True(Math.Abs(e.Score - a.Score) <= ScoreTolerance, $"vqa ask {image.FileName} / {questions[q]} / {e.Answer}: {e.Score} vs {a.Score}");
            }
        }

        var byKey = stored.ToDictionary(a => (a.ImageId, a.Question, a.Rank));
        var fileNames = images.ToDictionary(i => i.Id, i => i.FileName);
        var jsonl = (await pipeline.Api.GetStringAsync($"/jobs/{jobId}/answers?format=jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(stored.Count, jsonl.Length);
        foreach (var line in jsonl.Select(TestData.ParseLine))
        {
            var imageId = line.GetProperty("imageId").GetGuid();
            var answer = byKey[(imageId, line.GetProperty("question").GetString()!, line.GetProperty("rank").GetInt32())];
            Assert.Equal((fileNames[imageId], answer.Answer, answer.Score, answer.ModelVersion),
                (line.GetProperty("fileName").GetString(), line.GetProperty("answer").GetString(), line.GetProperty("score").GetDouble(),
                 line.GetProperty("modelVersion").GetString()));
        }

        var csv = ParseCsv(await pipeline.Api.GetStringAsync($"/jobs/{jobId}/answers?format=csv"));
        Assert.Equal(["imageId", "fileName", "question", "rank", "answer", "score", "modelVersion"], csv[0]);
        Assert.Equal(stored.Count, csv.Count - 1);
        foreach (var row in csv.Skip(1))
        {
            var imageId = Guid.Parse(row[0]);
            var answer = byKey[(imageId, row[2], int.Parse(row[3], CultureInfo.InvariantCulture))];
            Assert.Equal((fileNames[imageId], answer.Answer, answer.Score, answer.ModelVersion),
                (row[1], row[4], double.Parse(row[5], CultureInfo.InvariantCulture), row[6]));
        }
    }

    [StackFact]
    public async Task A_job_that_names_no_model_is_answered_by_the_bundled_model_as_the_engine_answers()
    {
        var scenes = Directory.GetFiles(TestData.ExamplesFolder, "*.jpg").Order(StringComparer.Ordinal).Take(4).ToList();
        var collectionId = await pipeline.NewCollectionAsync("bundled");
        var images = await pipeline.IngestAsync(collectionId, scenes.Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))));
        string[] questions = ["How many objects are there?", "Is there a red circle?"];

        var jobId = await pipeline.SubmitAsync(collectionId, questions, model: null, topK: 2);
        var job = await pipeline.WaitForJobAsync(jobId);

        Assert.Equal(("completed", scenes.Count, 0), (job.Status, job.Done, job.Failed));
        Assert.StartsWith($"{BundledModels.Default}#sha256:", job.ModelVersion);
        await using var db = pipeline.NewContext();
        var stored = await TestData.AnswersAsync(db, jobId);
        using var engine = VqaEngine.FromPretrained(BundledModels.Find(BundledModels.Default)!);
        foreach (var image in images)
        {
            var pixels = new ImageLoader().LoadFile(scenes.Single(p => Path.GetFileName(p) == image.FileName));
            for (var q = 0; q < questions.Length; q++)
            {
                var expected = engine.Ask(pixels, questions[q], 2).Answers;
                var actual = stored.Where(a => a.ImageId == image.Id && a.QuestionIndex == q).ToList();
                Assert.Equal(expected.Select(a => a.Answer), actual.Select(a => a.Answer));
            }
        }
    }

    [StackFact]
    public async Task Bad_jobs_are_refused_with_the_reason()
    {
        var collectionId = await pipeline.NewCollectionAsync("bad");
        var model = TestData.TinyModel;
        var cases = new (object Body, string Reason)[]
        {
            (new { collectionId, questions = Array.Empty<string>(), model }, "one or more questions"),
            (new { collectionId, questions = new[] { "Is it red?", "  " }, model }, "question 2 is empty"),
            (new { collectionId, questions = new[] { "Is it red?" }, model = "./no/such/folder" }, "must be an absolute path on the workers' disks"),
            (new { collectionId, questions = new[] { "Is it red?" }, model = "nobody/not a name" }, "nor a Hub id"),
            (new { collectionId, questions = new[] { "Is it red?" }, model = $"models/absent-{Guid.NewGuid():N}/1" }, "not in object storage"),
            (new { collectionId, questions = new[] { "Is it red?" }, model, topK = 0 }, "topK"),
        };

        foreach (var (body, reason) in cases)
        {
            using var response = await pipeline.Api.PostAsJsonAsync("/jobs", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<ErrorResponse>())!.Error);
        }
        var unknownCollection = Guid.NewGuid();
        using (var response = await pipeline.Api.PostAsJsonAsync("/jobs", new { collectionId = unknownCollection, questions = new[] { "Is it red?" }, model }))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal($"collection {unknownCollection} does not exist", (await response.Content.ReadFromJsonAsync<ErrorResponse>())!.Error);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await pipeline.Api.GetAsync($"/jobs/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await pipeline.Api.PostAsync($"/jobs/{Guid.NewGuid()}/cancel", null)).StatusCode);
        var jobId = await pipeline.SubmitAsync(collectionId, ["Is it red?"], model, 1);
        Assert.Equal(HttpStatusCode.BadRequest, (await pipeline.Api.GetAsync($"/jobs/{jobId}/answers?format=xml")).StatusCode);
    }

    [StackFact]
    public async Task A_job_naming_a_folder_no_worker_has_fails_with_the_reason()
    {
        var collectionId = await pipeline.NewCollectionAsync("missing-model");
        await pipeline.IngestAsync(collectionId, TestData.NoiseImages("missing-model", 1, seed: 4000));

        // The API cannot see the workers' disks, so it accepts the path; the worker says what is wrong.
        var job = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, ["Is it red?"], "/no/such/folder", 1));

        Assert.Equal("failed", job.Status);
        Assert.Contains("model folder '/no/such/folder' does not exist on this host", job.FailureReason);
    }

    [StackFact]
    public async Task A_batch_that_fails_after_committing_is_retried_and_nothing_is_doubled()
    {
        var collectionId = await pipeline.NewCollectionAsync("fault");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("fault", 12, seed: 500));
        var questions = TestData.Questions(3);
        var thrownBefore = pipeline.Fault.Thrown;

        pipeline.Fault.Arm();
        var jobId = await pipeline.SubmitAsync(collectionId, questions, TestData.TinyModel, 3);
        var job = await pipeline.WaitForJobAsync(jobId);

        Assert.Equal(thrownBefore + 1, pipeline.Fault.Thrown);
        Assert.Equal(("completed", images.Count, 0), (job.Status, job.Done, job.Failed));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Select(i => i.Id).ToArray(), questions.Count, 3);
    }

    [StackFact]
    public async Task A_rejected_image_counts_as_failed_with_its_reason_and_the_job_completes()
    {
        var collectionId = await pipeline.NewCollectionAsync("rejected");
        var images = await pipeline.IngestAsync(collectionId,
            [.. TestData.NoiseImages("good", 3, seed: 900), ("broken.png", [.. TestData.NoisePng(999)[..60]])]);
        var rejected = Assert.Single(images, i => i.Status == ImageStatus.Rejected);

        var jobId = await pipeline.SubmitAsync(collectionId, TestData.Questions(2), TestData.TinyModel, 2);
        var job = await pipeline.WaitForJobAsync(jobId);

        Assert.Equal(("completed", 4, 3, 1), (job.Status, job.Total, job.Done, job.Failed));
        var failure = Assert.Single(job.Failures);
        Assert.Equal((rejected.Id, "broken.png", rejected.RejectionReason), (failure.ImageId, failure.FileName, failure.Reason));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, jobId, images.Where(i => i.Status == ImageStatus.Ready).Select(i => i.Id).ToArray(), 2, 2);
    }

    [StackFact]
    public async Task A_model_in_object_storage_is_downloaded_once_and_named_by_its_version()
    {
        var name = $"tiny-{Guid.NewGuid():N}";
        var model = $"models/{name}/3";
        // A team's models are stored in its own folder and named without it.
        await TestData.StoreTinyModelAsync($"models/{pipeline.TeamId:D}/{name}/3");
        var collectionId = await pipeline.NewCollectionAsync("stored-model");
        var images = await pipeline.IngestAsync(collectionId, TestData.NoiseImages("stored", 2, seed: 700));

        var first = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, TestData.Questions(1), model, 2));
        var second = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, TestData.Questions(2), model, 2));

        Assert.Equal(("completed", model, 2), (first.Status, first.ModelVersion, first.Done));
        Assert.Equal(("completed", model, 2), (second.Status, second.ModelVersion, second.Done));
        await using var db = pipeline.NewContext();
        await TestData.AssertOneAnswerSetAsync(db, second.Id, images.Select(i => i.Id).ToArray(), 2, 2);
    }

    [StackFact]
    public async Task A_cancelled_job_stays_cancelled_and_a_finished_one_cannot_be_cancelled()
    {
        var collectionId = await pipeline.NewCollectionAsync("cancel");
        await pipeline.IngestAsync(collectionId, TestData.NoiseImages("cancel", 40, seed: 1300));

        var cancelledId = await pipeline.SubmitAsync(collectionId, TestData.Questions(3), TestData.TinyModel, 3);
        using var cancel = await pipeline.Api.PostAsync($"/jobs/{cancelledId}/cancel", null);
        var cancelled = (await cancel.Content.ReadFromJsonAsync<JobResponse>())!;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var later = await pipeline.GetJobAsync(cancelledId);
        var finished = await pipeline.WaitForJobAsync(await pipeline.SubmitAsync(collectionId, TestData.Questions(1), TestData.TinyModel, 1));
        using var tooLate = await pipeline.Api.PostAsync($"/jobs/{finished.Id}/cancel", null);

        Assert.Equal((HttpStatusCode.OK, "cancelled"), (cancel.StatusCode, cancelled.Status));
        Assert.Equal("cancelled", later.Status);
        Assert.True(later.Done < 40, $"a cancelled job answered all {later.Done} images");
        Assert.Equal("completed", finished.Status);
        Assert.Equal(HttpStatusCode.Conflict, tooLate.StatusCode);
    }

    /// <summary>
    /// Runs the built CLI, <c>dotnet vqa.dll ask IMAGE -q Q1 -q Q2 … --model MODEL --top-k K --json</c>, and returns
    /// each question's answers in question order.
    /// </summary>
    private static async Task<IReadOnlyList<(string Answer, double Score)[]>> AskWithCliAsync(
        string image, IReadOnlyList<string> questions, string model, int topK)
    {
        var vqa = typeof(JobTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "VqaCliDll").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] arguments = [vqa, "ask", image, .. questions.SelectMany(q => new[] { "-q", q }),
            "--model", model, "--top-k", topK.ToString(CultureInfo.InvariantCulture), "--json"];
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"vqa ask {image} exited with {process.ExitCode}: {await stderr}");
        var results = JsonDocument.Parse(await stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(questions, results.Select(r => r.GetProperty("question").GetString()));
        return results.Select(r => r.GetProperty("answers").EnumerateArray()
            .Select(a => (a.GetProperty("answer").GetString()!, a.GetProperty("score").GetDouble())).ToArray()).ToList();
    }

    /// <summary>RFC 4180 parsing (quoted fields, doubled quotes, line breaks inside quotes).</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add([.. row]); row.Clear(); }
            else field.Append(c);
        }
        return rows;
    }
}
