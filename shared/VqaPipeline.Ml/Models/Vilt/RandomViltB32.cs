using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Imaging;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>
/// A model folder with the dimensions of <c>dandelin/vilt-b32-finetuned-vqa</c> and weights drawn as Hugging Face
/// initialises them (nothing is downloaded): for measuring speed, never for answers.
/// </summary>
public static class RandomViltB32
{
    /// <summary>Writes <c>config.json</c>, <c>preprocessor_config.json</c>, <c>vocab.txt</c> and <c>model.safetensors</c> into <paramref name="folder"/>.</summary>
    public static ViltConfig Write(string folder, string vocabularyPath)
    {
        // dandelin/vilt-b32-finetuned-vqa: the ViltConfig defaults (768 wide, 12 layers and heads, 3072 MLP, 32-pixel
        // patches, 384 images) with 3129 answers.
        var config = new ViltConfig { NumLabels = 3129, Architectures = ["ViltForQuestionAnswering"], TorchDtype = "float32" };
        config.Save(folder);
        File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), JsonSerializer.Serialize(new ViltImageProcessorConfig()));
        File.Copy(vocabularyPath, Path.Combine(folder, "vocab.txt"));

        using var model = new ViltForQuestionAnswering(config);
        InitialiseLikeHuggingFace(model, config.InitializerRange);
        var weights = model.state_dict();
        using (no_grad()) // HF zeroes the padding token's embedding after drawing it
            weights["vilt.embeddings.text_embeddings.word_embeddings.weight"][config.PadTokenId ?? 0].zero_();
        var tensors = weights.Select(pair =>
        {
            using var contiguous = pair.Value.contiguous();
            return new CheckpointTensor(pair.Key, TensorDType.Float32, pair.Value.shape, contiguous.bytes.ToArray());
        }).ToList();
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), tensors);
        return config;
    }

    /// <summary>
    /// HF's <c>_init_weights</c>: Linear, Conv2d and Embedding weights ~ N(0, range), biases 0; LayerNorm stays (1, 0)
    /// as constructed.
    /// </summary>
    private static void InitialiseLikeHuggingFace(TorchSharp.torch.nn.Module model, double range)
    {
        using var noGrad = no_grad();
        manual_seed(0);
        foreach (var (_, module) in model.named_modules())
        {
            var (weight, bias) = module switch
            {
                TorchSharp.Modules.Linear linear => (linear.weight, linear.bias),
                TorchSharp.Modules.Conv2d conv => (conv.weight, conv.bias),
                TorchSharp.Modules.Embedding embedding => (embedding.weight, null),
                _ => (null, null),
            };
            weight?.normal_(0, range);
            bias?.zero_();
        }
    }
}
