using VqaPipeline.Ml.Tests.Checkpoints;
using VqaPipeline.Ml.Tests.Hub;
using VqaPipeline.Ml.Tests.Imaging;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>
/// Every bad input ends the same way: a non-zero exit code, one "error:" line on stderr that says what is wrong, no
/// stack trace, and nothing on stdout.
/// </summary>
public sealed class CliBadInputTests : IDisposable
{
    private readonly CliRunner _cli = new();
    private readonly TemporaryFolder _temp = new();

    public void Dispose()
    {
        _cli.Dispose();
        _temp.Dispose();
    }

    private static string Image => Fixtures.PathOf("images", "coco_cats.png");

    private static string Model => Fixtures.PathOf("vilt-tiny");

    private Task<CliRun> AskAboutAsync(string image, params string[] more) =>
        _cli.RunAsync(["ask", image, "How many cats are there?", "--model", Model, .. more]);

    private string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(_temp.File(name), bytes);
        return _temp.File(name);
    }

    [Fact]
    public async Task Missing_image_file() =>
        (await AskAboutAsync(_temp.File("absent.jpg"))).AssertInputError("file not found");

    [Fact]
    public async Task Empty_image_file() =>
        (await AskAboutAsync(Write("empty.jpg", []))).AssertInputError("is empty (0 bytes)");

    [Fact]
    public async Task Text_file_named_jpg() =>
        (await AskAboutAsync(Write("notes.jpg", "just some notes\n"u8.ToArray()))).AssertInputError("unrecognised header");

    [Fact]
    public async Task Truncated_jpeg()
    {
        var jpeg = File.ReadAllBytes(Fixtures.PathOf("images", "rocket.jpg"));
        (await AskAboutAsync(Write("cut.jpg", jpeg[..(jpeg.Length / 2)]))).AssertInputError("truncated");
    }

    [Fact]
    public async Task Png_header_claiming_a_decompression_bomb() =>
        (await AskAboutAsync(Write("bomb.png", TestImages.PngHeader(50_000, 50_000)))).AssertInputError("decompression bomb");

    [Fact]
    public async Task Unreachable_url() =>
        (await AskAboutAsync(FakeHub.UnreachableEndpoint() + "/cats.jpg")).AssertInputError("cannot be downloaded");

    [Fact]
    public async Task Invalid_base64() =>
        (await AskAboutAsync("not base64 at all!")).AssertInputError("is not valid base64");

    [Fact]
    public async Task Malformed_data_uri() =>
        (await AskAboutAsync("data:image/png;base64,@@@@")).AssertInputError("is not valid base64");

    [Fact]
    public async Task Data_uri_without_base64() =>
        (await AskAboutAsync("data:text/plain,hello")).AssertInputError("only base64 data URIs");

    [Fact]
    public async Task Image_that_is_a_directory() =>
        (await AskAboutAsync(_temp.Path)).AssertInputError("is a directory");

    [Fact]
    public async Task Preprocessing_a_directory() =>
        (await _cli.RunAsync("preprocess", Image, _temp.Path, "--model", Model)).AssertInputError("is a directory");

    [Fact]
    public async Task Model_folder_without_config()
    {
        using var model = new TinyModelCopy();
        model.Delete("config.json");
        (await _cli.RunAsync("ask", Image, "Why?", "--model", model.Path)).AssertInputError("has no config.json");
    }

    [Fact]
    public async Task Unknown_model_type()
    {
        using var model = new TinyModelCopy();
        model.EditConfig(config => config["model_type"] = "not-a-model");
        (await _cli.RunAsync("ask", Image, "Why?", "--model", model.Path)).AssertInputError("'not-a-model' model, which is not supported");
    }

    [Fact]
    public async Task Truncated_safetensors_is_an_error_not_a_fallback_to_the_bin()
    {
        using var model = new TinyModelCopy();
        var weights = File.ReadAllBytes(model.File("model.safetensors"));
        File.WriteAllBytes(model.File("model.safetensors"), weights[..(weights.Length / 2)]);
        (await _cli.RunAsync("ask", Image, "Why?", "--model", model.Path)).AssertInputError("is not a valid safetensors file");
    }

    [Fact]
    public async Task Malicious_pickle_is_refused_and_never_runs()
    {
        using var model = new TinyModelCopy();
        model.Delete("model.safetensors");
        model.Delete("pytorch_model.bin");
        var marker = _temp.File("pwned");
        var exploit = new PickleBuilder().EmptyDict().String("weight")
            .Global("posix", "system").String($"touch {marker}").Op(0x85).Reduce().SetItem().Stop().ToArray();
        PickleBuilder.WriteTorchZip(model.File("pytorch_model.bin"), exploit, new Dictionary<string, byte[]>());

        (await _cli.RunAsync("ask", Image, "Why?", "--model", model.Path)).AssertInputError("global 'posix.system' is not allowed");
        (await _cli.RunAsync("inspect", model.Path)).AssertInputError("global 'posix.system' is not allowed");
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Empty_question_argument() =>
        (await _cli.RunAsync("ask", Image, "", "--model", Model)).AssertInputError("no question given");

    [Fact]
    public async Task Blank_question_option() =>
        (await _cli.RunAsync("ask", Image, "-q", "  ", "--model", Model)).AssertInputError("the question is empty");

    [Fact]
    public async Task Top_k_zero() =>
        (await AskAboutAsync(Image, "--top-k", "0")).AssertInputError("--top-k must be at least 1");

    [Fact]
    public async Task Batch_size_zero() =>
        (await AskAboutAsync(Image, "--batch-size", "0")).AssertInputError("--batch-size must be at least 1");

    [Fact]
    public async Task Top_k_that_is_not_a_number_is_a_one_line_usage_error() =>
        (await AskAboutAsync(Image, "--top-k", "many")).AssertInputError("vqa ask --help");

    [Fact]
    public async Task Missing_questions_file() =>
        (await _cli.RunAsync("ask", Image, "--questions-file", _temp.File("absent.txt"), "--model", Model))
            .AssertInputError("does not exist");

    [Fact]
    public async Task Questions_file_that_is_a_directory() =>
        (await _cli.RunAsync("ask", Image, "--questions-file", _temp.Path, "--model", Model)).AssertInputError("is a directory");

    [Fact]
    public async Task Unknown_hub_model()
    {
        using var hub = new FakeHub();
        using var cli = new CliRunner(hub.Endpoint);
        (await cli.RunAsync("ask", Image, "Why?", "--model", "no-org/no-model")).AssertInputError("model 'no-org/no-model' not found");
    }

    [Fact]
    public async Task Cuda_device_on_a_cpu_build() =>
        (await AskAboutAsync(Image, "--device", "cuda")).AssertInputError("no usable CUDA device");

    [Fact]
    public async Task No_command_at_all() =>
        (await _cli.RunAsync()).AssertInputError("vqa --help");
}
