using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tests.Cli;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Onnx;

/// <summary><c>vqa ask</c> and the engine on an export folder: Python's pipeline answers, from model.onnx alone.</summary>
public sealed class OnnxAskTests(ExportedViltTiny export) : IClassFixture<ExportedViltTiny>, IDisposable
{
    private readonly CliRunner cli = new();

    public void Dispose() => cli.Dispose();

    public static TheoryData<string> Cases => ViltTinyCases.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Ask_with_runtime_onnx_gives_the_pipelines_top_k(string name)
    {
        var testCase = ViltTinyCases.Named(name);

        var run = await cli.RunAsync("ask", ViltTinyCases.ImagePath(testCase), ViltTinyCases.Question(testCase),
            "--model", export.Float32, "--runtime", "onnx", "--json", "--top-k", "5");

        run.AssertSucceeded();
        Assert.Equal("", run.Stderr);
        ViltTinyCases.AssertPipelineAnswers(testCase, JsonDocument.Parse(run.Stdout).RootElement);
    }

    [Fact]
    public void Export_folder_has_no_weights_and_runs_on_onnx_runtime_by_default()
    {
        var files = Directory.GetFiles(export.Float32).Select(Path.GetFileName).ToArray();
        Assert.DoesNotContain(files, name => CheckpointReader.WeightFileNames.Contains(name) || name!.EndsWith(".safetensors") || name.EndsWith(".bin"));
        Assert.Contains("model.onnx", files);

        using var exported = VqaEngine.FromPretrained(export.Float32);
        using var quantized = VqaEngine.FromPretrained(export.Int8);
        using var checkpoint = VqaEngine.FromPretrained(ViltFixture.ModelFolder);

        Assert.Equal("onnxruntime CPU float32", exported.Runtime);
        Assert.Equal("onnxruntime CPU int8", quantized.Runtime);
        Assert.Equal("torch cpu float32", checkpoint.Runtime);
        Assert.Null(exported.RuntimeWarning);
    }

    [Fact]
    public void A_batch_of_mixed_image_sizes_answers_like_one_by_one_and_like_torch()
    {
        var batchCase = ViltFixture.AllCases(ViltFixture.Manifest).Single(c => c.Images.Length > 1);
        var loader = new ImageLoader();
        var queries = batchCase.Images.Zip(batchCase.Questions, (image, question) => new VqaQuery(loader.LoadFile(Fixtures.PathOf(image)), question)).ToArray();
        Assert.True(queries.Select(q => (q.Image.Width, q.Image.Height)).Distinct().Count() > 1, "the batch case should mix image sizes");
        using var batched = VqaEngine.FromPretrained(export.Float32, new VqaEngineOptions { BatchSize = queries.Length });
        using var single = VqaEngine.FromPretrained(export.Float32, new VqaEngineOptions { BatchSize = 1 });
        using var torch = VqaEngine.FromPretrained(ViltFixture.ModelFolder, new VqaEngineOptions { BatchSize = queries.Length });
        var all = batched.Labels.Count;

        var together = batched.Ask(queries, topK: all);
        var oneByOne = single.Ask(queries, topK: all);
        var onTorch = torch.Ask(queries, topK: all);

        for (var row = 0; row < queries.Length; row++)
        {
            AssertSameScores(oneByOne[row], together[row], 1e-5);
            AssertSameScores(onTorch[row], together[row], 1e-4);
        }
    }

    [Fact]
    public async Task Cuda_without_a_gpu_falls_back_to_cpu_with_one_warning_line()
    {
        var testCase = ViltTinyCases.All[0];
        var cudaPresent = OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider");

        var run = await cli.RunAsync("ask", ViltTinyCases.ImagePath(testCase), ViltTinyCases.Question(testCase),
            "--model", export.Float32, "--device", "cuda", "--json");

        run.AssertSucceeded();
        ViltTinyCases.AssertPipelineAnswers(testCase, JsonDocument.Parse(run.Stdout).RootElement);
        if (cudaPresent) return; // a GPU build on a GPU machine runs there and has nothing to warn about
        var warning = Assert.Single(run.StderrLines);
        Assert.StartsWith("warning: device 'cuda' was requested but ONNX Runtime cannot use CUDA here", warning);
        Assert.Contains("running on CPU", warning);
    }

    [Fact]
    public async Task Exporting_into_the_model_folder_puts_model_onnx_beside_the_weights_and_ask_picks_it()
    {
        using var model = new TinyModelCopy();
        var testCase = ViltTinyCases.All[0];

        var exported = await cli.RunAsync("export", "onnx", "--model", model.Path, "--out", model.Path, "--json");
        var answered = await cli.RunAsync("ask", ViltTinyCases.ImagePath(testCase), ViltTinyCases.Question(testCase), "--model", model.Path, "--json");

        exported.AssertSucceeded();
        var report = JsonDocument.Parse(exported.Stdout).RootElement;
        Assert.Equal(model.File("model.onnx"), report.GetProperty("model").GetString());
        Assert.Equal(new FileInfo(model.File("model.onnx")).Length, report.GetProperty("bytes").GetInt64());
        Assert.Equal("float32", report.GetProperty("precision").GetString());
        Assert.True(File.Exists(model.File("model.safetensors")));
        using (var engine = VqaEngine.FromPretrained(model.Path)) Assert.StartsWith("onnxruntime", engine.Runtime);
        answered.AssertSucceeded();
        ViltTinyCases.AssertPipelineAnswers(testCase, JsonDocument.Parse(answered.Stdout).RootElement);
    }

    private static void AssertSameScores(VqaResult expected, VqaResult actual, double tolerance)
    {
        var want = expected.Answers.ToDictionary(a => a.Answer, a => a.Score);
        foreach (var answer in actual.Answers)
            Assert.True(Math.Abs(want[answer.Answer] - answer.Score) <= tolerance,
                $"{expected.Question} / {answer.Answer}: {answer.Score} vs {want[answer.Answer]}");
    }
}
