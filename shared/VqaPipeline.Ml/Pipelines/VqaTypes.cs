using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Pipelines;

/// <summary>One answer with its sigmoid score, as <c>pipeline("visual-question-answering")</c> returns it.</summary>
public sealed record VqaAnswer(string Answer, float Score);

/// <summary>The answers to one question, highest score first.</summary>
/// <param name="QuestionTruncated">The question had more word pieces than the model's text positions and was cut.</param>
public sealed record VqaResult(string Question, IReadOnlyList<VqaAnswer> Answers, bool QuestionTruncated);

/// <summary>An (image, question) pair for the batched API.</summary>
public sealed record VqaQuery(RgbImage Image, string Question);

/// <summary>Where and how the model runs.</summary>
public sealed record VqaEngineOptions
{
    /// <summary><c>cpu</c> or <c>cuda</c> (<c>cuda:N</c> for a given card).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary><c>float32</c> or <c>bfloat16</c> compute.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>
    /// Run bfloat16 even on a CPU that libtorch can only emulate it on (no AVX512_BF16, AMX-BF16, Arm BF16 or AVX-512),
    /// where it is orders of magnitude slower than float32. Without this, loading refuses such a combination.
    /// </summary>
    public bool AllowEmulatedBfloat16 { get; init; }

    /// <summary>How many (image, question) pairs run through the model at once.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Intra-op threads of the runtime (libtorch or ONNX Runtime); null keeps its default (one per physical core).</summary>
    public int? Threads { get; init; }

    /// <summary>Which runtime runs the model; <see cref="VqaRuntime.Auto"/> picks ONNX Runtime for a folder with a model.onnx.</summary>
    public VqaRuntime Runtime { get; init; } = VqaRuntime.Auto;

    /// <summary>ONNX Runtime's settings (graph optimization, optimized-model file); null for the defaults.</summary>
    public Onnx.OnnxRuntimeOptions? Onnx { get; init; }

    /// <summary>Hub endpoint, token, cache and offline mode; null reads them from the environment.</summary>
    public Checkpoints.Hub.HubOptions? Hub { get; init; }

    /// <summary>How a generative model (BLIP, BLIP-2) writes answers for <see cref="VqaEngine.Ask(IReadOnlyList{VqaQuery}, int)"/>.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Limits for loading images (decompression-bomb guard, URL timeout).</summary>
    public ImageLoadOptions? Images { get; init; }
}

/// <summary>The question is empty or otherwise unusable.</summary>
public sealed class InvalidQuestionException(string message) : VqaPipelineException(message);
