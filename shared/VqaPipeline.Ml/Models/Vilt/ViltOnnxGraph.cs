// ViltForQuestionAnswering as an ONNX graph, built from loaded weights and laid out like ViltModeling.cs: embeddings →
// encoder layers → pooler → classifier. Where ViltModeling computes per image on the host (the valid patch grid, the
// resized position grid, the patch selection), the graph computes the same from pixel_mask with tensor operators, so
// batch, text length, height and width stay dynamic. Patches keep row-major order and padding patches stay in the
// sequence, masked: attention ignores them exactly as it ignores the padding patches Python samples.
//
// Fused kernels are emitted directly (ONNX Runtime's own fusions need static shapes): com.microsoft Attention
// (MultiHeadAttention after an int8 projection), SkipLayerNormalization for each residual add + LayerNorm, BiasGelu.
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Onnx;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>A weight as the exporter reads it: float32 values in row-major order and the tensor's shape.</summary>
public sealed record ExportWeight(float[] Values, long[] Shape);

/// <summary>Builds the ONNX graph of a <see cref="ViltForQuestionAnswering"/> from its state dict.</summary>
internal sealed class ViltOnnxGraph
{
    /// <summary>HF's input names, in the order ViltProcessor returns them.</summary>
    public static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids", "pixel_values", "pixel_mask"];

    public const string OutputName = "logits";

    private const string Ms = OnnxDomains.Microsoft;
    private const string Prefix = ViltForQuestionAnswering.BaseModelPrefix;

    private readonly ViltConfig config;
    private readonly IReadOnlyDictionary<string, ExportWeight> weights;
    private readonly bool quantize;
    private readonly OnnxGraphBuilder b = new();
    private string? gridIndex;

    private ViltOnnxGraph(ViltConfig config, IReadOnlyDictionary<string, ExportWeight> weights, bool quantize)
    {
        this.config = config;
        this.weights = weights;
        this.quantize = quantize;
    }

    /// <summary>
    /// Loads the folder's weights into the TorchSharp model first, so that everything the torch runtime accepts (key
    /// prefixes, legacy names, bf16/fp16 or .bin checkpoints) exports the same; refuses a checkpoint that leaves any
    /// weight to random initialization.
    /// </summary>
    public static (OnnxGraph Graph, ISet<string> Domains) FromFolder(string modelFolder, bool quantize)
    {
        var config = ModelConfig.Load<ViltConfig>(modelFolder);
        Dictionary<string, ExportWeight> weights;
        using (var model = new ViltForQuestionAnswering(config))
        {
            LoadReport report;
            using (var checkpoint = CheckpointReader.ReadFolder(modelFolder))
                report = ModuleWeights.Load(model, checkpoint, new LoadOptions { BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix });
            var random = report.MissingKeys.Concat(report.MismatchedKeys.Select(m => m.Key)).ToArray();
            if (random.Length > 0)
                throw new CheckpointMismatchException(
                    $"'{modelFolder}' lacks {random.Length} weight(s) of ViltForQuestionAnswering (first: '{random[0]}'); " +
                    "an export would bake in random values.");
            weights = model.state_dict().ToDictionary(
                entry => entry.Key,
                entry =>
                {
                    using var values = entry.Value.to(TorchSharp.torch.ScalarType.Float32).cpu();
                    return new ExportWeight(values.data<float>().ToArray(), entry.Value.shape);
                });
        }
        return Build(config, weights, quantize);
    }

    /// <summary>The graph and the operator domains it uses.</summary>
    public static (OnnxGraph Graph, ISet<string> Domains) Build(
        ViltConfig config, IReadOnlyDictionary<string, ExportWeight> weights, bool quantize)
    {
        var exporter = new ViltOnnxGraph(config, weights, quantize);
        var graph = exporter.Forward();
        return (graph, exporter.b.DomainsUsed);
    }

    private OnnxGraph Forward()
    {
        var inputIds = b.Input("input_ids", OnnxDataType.Int64, "batch", "text_length");
        var attentionMask = b.Input("attention_mask", OnnxDataType.Int64, "batch", "text_length");
        var tokenTypeIds = b.Input("token_type_ids", OnnxDataType.Int64, "batch", "text_length");
        var pixelValues = b.Input("pixel_values", OnnxDataType.Float, "batch", config.NumChannels, "height", "width");
        var pixelMask = b.Input("pixel_mask", OnnxDataType.Int64, "batch", "height", "width");

        var (embeddings, mask) = Embeddings(inputIds, attentionMask, tokenTypeIds, pixelValues, pixelMask);
        var pooled = Pooler(Encoder(embeddings, mask));
        var logits = Classifier(pooled);
        b.Output(logits, OutputName, OnnxDataType.Float, "batch", config.NumLabels);
        return b.Build("ViltForQuestionAnswering");
    }

    // ---- embeddings (ViltEmbeddings) ----

    /// <summary><c>[text tokens] ++ [image CLS, patches]</c> and the int32 key mask (1 = attend) the attention kernels take.</summary>
    private (string Embeddings, string Mask) Embeddings(string inputIds, string attentionMask, string tokenTypeIds,
        string pixelValues, string pixelMask)
    {
        const string module = $"{Prefix}.embeddings";
        var text = TextEmbeddings(inputIds, tokenTypeIds);
        var (image, imageMask) = VisualEmbed(pixelValues, pixelMask);

        b.Scope = module;
        var modality = Weight($"{module}.token_type_embeddings.weight");
        text = b.Add(text, b.Initializer($"{module}.token_type_embeddings.text", Row(modality, 0), config.HiddenSize));
        image = b.Add(image, b.Initializer($"{module}.token_type_embeddings.image", Row(modality, 1), config.HiddenSize));

        var embeddings = b.Concat(1, text, image);
        var mask = b.Cast(b.Concat(1, b.Cast(attentionMask, OnnxDataType.Float), imageMask), OnnxDataType.Int32);
        return (embeddings, mask);
    }

    /// <summary>BERT's text embeddings: LayerNorm(word + token type + position).</summary>
    private string TextEmbeddings(string inputIds, string tokenTypeIds)
    {
        const string module = $"{Prefix}.embeddings.text_embeddings";
        b.Scope = module;
        var words = b.Op("Gather", [WeightInitializer($"{module}.word_embeddings.weight"), inputIds]);
        var types = b.Op("Gather", [WeightInitializer($"{module}.token_type_embeddings.weight"), tokenTypeIds]);
        var textLength = b.Shape(inputIds, 1, 2);
        var positions = b.Op("Slice", [WeightInitializer($"{module}.position_embeddings.weight"), b.Int64s(0), textLength, b.Int64s(0)]);
        return LayerNorm(b.Add(b.Add(words, types), positions), $"{module}.LayerNorm", config.LayerNormEps);
    }

    /// <summary>
    /// Patch projection, positions resized to each image's valid patch grid, CLS prepended; returns the image tokens
    /// and their mask (float, 1 = valid) in the order <c>[CLS, patches row-major]</c>.
    /// </summary>
    private (string Tokens, string Mask) VisualEmbed(string pixelValues, string pixelMask)
    {
        const string module = $"{Prefix}.embeddings";
        b.Scope = $"{module}.patch_embeddings";
        long hidden = config.HiddenSize, patch = config.PatchSize;
        const string projection = $"{module}.patch_embeddings.projection";
        var projected = b.Op("Conv",
            [pixelValues, WeightInitializer($"{projection}.weight"), WeightInitializer($"{projection}.bias")],
            [OnnxAttribute.Of("kernel_shape", [patch, patch]), OnnxAttribute.Of("strides", [patch, patch])]);

        b.Scope = module;
        var batch = b.Shape(pixelValues, 0, 1);
        var grid = b.Shape(projected, 2);
        var (patchMask, validRows, validCols) = PatchMask(pixelMask, batch, grid);

        var positions = ResizedPositions(validRows, validCols, grid);
        var patches = b.Transpose(b.Reshape(projected, 0, hidden, -1), 0, 2, 1);
        var patchTokens = b.Add(patches, positions);

        var cls = b.Add(WeightInitializer($"{module}.cls_token"),
            b.Initializer($"{module}.position_embeddings.cls", Row(Weight($"{module}.position_embeddings"), 0), 1, 1, hidden));
        var clsTokens = b.Op("Expand", [cls, b.Concat(0, batch, b.Int64s(1, hidden))]);
        var tokens = b.Concat(1, clsTokens, patchTokens);

        var clsMask = b.Op("ConstantOfShape", [b.Concat(0, batch, b.Int64s(1))],
            [OnnxAttribute.Of("value", OnnxTensor.FromFloats("one", [1f], 1))]);
        var mask = b.Concat(1, clsMask, b.Reshape(patchMask, 0, -1));
        return (tokens, mask);
    }

    /// <summary>
    /// <c>interpolate(pixel_mask, size=patch_grid)</c> in its default nearest mode (source index floor(i · in/out)),
    /// and the valid patch grid per image: its rows in the first column, its columns in the first row.
    /// </summary>
    private (string Mask, string Rows, string Cols) PatchMask(string pixelMask, string batch, string grid)
    {
        var asFloat = b.Cast(b.Unsqueeze(pixelMask, 1), OnnxDataType.Float);
        var sizes = b.Concat(0, batch, b.Int64s(1), grid);
        var resized = b.Op("Resize", [asFloat, "", "", sizes],
        [
            OnnxAttribute.Of("mode", "nearest"),
            OnnxAttribute.Of("coordinate_transformation_mode", "asymmetric"),
            OnnxAttribute.Of("nearest_mode", "floor"),
        ]);
        var mask = b.Squeeze(resized, 1);
        var rows = b.Op("ReduceSum", [b.Select(mask, 0, axis: 2), b.Int64s(1)], [OnnxAttribute.Of("keepdims", 0L)]);
        var cols = b.Op("ReduceSum", [b.Select(mask, 0, axis: 1), b.Int64s(1)], [OnnxAttribute.Of("keepdims", 0L)]);
        return (mask, rows, cols);
    }

    /// <summary>
    /// The learned G×G position grid bilinearly resized (align_corners) to each image's valid rows × cols and zero
    /// elsewhere, as [batch, h·w, hidden]. Bilinear resizing is separable, so it is R · grid · Cᵀ with interpolation
    /// matrices R [batch, h, G] and C [batch, w, G] whose rows past the valid size are zero.
    /// </summary>
    private string ResizedPositions(string validRows, string validCols, string grid)
    {
        const string module = $"{Prefix}.embeddings";
        long gridSize = config.ImageSize / config.PatchSize, hidden = config.HiddenSize;
        var table = Weight($"{module}.position_embeddings");
        var spatial = b.Initializer($"{module}.position_embeddings.grid",
            table.Values.AsSpan((int)hidden).ToArray(), gridSize, gridSize * hidden);

        var rowWeights = InterpolationMatrix(validRows, b.Select(grid, 0, axis: 0), gridSize);
        var colWeights = InterpolationMatrix(validCols, b.Select(grid, 1, axis: 0), gridSize);
        var alongRows = b.Reshape(b.MatMul(rowWeights, spatial), 0, 0, gridSize, hidden);
        var resized = b.MatMul(b.Unsqueeze(colWeights, 1), alongRows);
        return b.Reshape(resized, 0, -1, hidden);
    }

    /// <summary>
    /// [batch, length, G] weights of align_corners bilinear resizing from G to <paramref name="valid"/>[i] samples,
    /// computed as torch does (scale (G−1)/(n−1) in float32, source floor and fraction), zero past the valid samples.
    /// </summary>
    private string InterpolationMatrix(string valid, string length, long gridSize)
    {
        var last = b.FloatScalar(gridSize - 1);
        var one = b.FloatScalar(1f);
        var samples = b.Cast(b.Op("Range", [b.Int64Scalar(0), length, b.Int64Scalar(1)]), OnnxDataType.Float);
        var scale = b.Op("Where", [b.Op("Greater", [valid, one]),
            b.Div(last, b.Op("Max", [b.Sub(valid, one), one])), b.FloatScalar(0f)]);
        var source = b.Mul(b.Unsqueeze(scale, 1), b.Unsqueeze(samples, 0));
        var lower = b.Op("Min", [b.Op("Floor", [source]), last]);
        var upper = b.Op("Min", [b.Add(lower, one), last]);
        var fraction = b.Unsqueeze(b.Sub(source, lower), 2);

        gridIndex ??= b.Initializer("grid_index", Enumerable.Range(0, (int)gridSize).Select(i => (float)i).ToArray(), gridSize);
        string OneHot(string index) => b.Cast(b.Op("Equal", [b.Unsqueeze(index, 2), gridIndex]), OnnxDataType.Float);
        var weights = b.Add(b.Mul(OneHot(lower), b.Sub(one, fraction)), b.Mul(OneHot(upper), fraction));
        var inside = b.Cast(b.Op("Less", [b.Unsqueeze(samples, 0), b.Unsqueeze(valid, 1)]), OnnxDataType.Float);
        return b.Mul(weights, b.Unsqueeze(inside, 2));
    }

    // ---- encoder (ViltEncoder, ViltLayer) ----

    /// <summary>
    /// The pre-LayerNorm blocks. Each residual add and the LayerNorm after it are one SkipLayerNormalization, which
    /// also returns the sum for the next residual. Only the text [CLS] reaches the pooler, so the last block's MLP and
    /// the final LayerNorm run on that token alone.
    /// </summary>
    private string Encoder(string embeddings, string mask)
    {
        var residual = embeddings;
        string? pendingOutput = null, pendingBias = null;
        string normalized = "";
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var module = $"{Prefix}.encoder.layer.{i}";
            b.Scope = module;
            (normalized, residual) = pendingOutput is null
                ? (LayerNorm(residual, $"{module}.layernorm_before", config.LayerNormEps), residual)
                : SkipLayerNorm(pendingOutput, residual, pendingBias!, $"{module}.layernorm_before");

            var attended = Project(SelfAttention(normalized, mask, $"{module}.attention.attention"), $"{module}.attention.output.dense");
            var attendedBias = BiasInitializer($"{module}.attention.output.dense");
            var last = i == config.NumHiddenLayers - 1;
            if (last)
            {
                // The residual stream of the [CLS] token alone from here on.
                var sum = b.Add(b.Add(b.Select(attended, 0, axis: 1), attendedBias), b.Select(residual, 0, axis: 1));
                residual = sum;
                normalized = LayerNorm(sum, $"{module}.layernorm_after", config.LayerNormEps);
            }
            else
                (normalized, residual) = SkipLayerNorm(attended, residual, attendedBias, $"{module}.layernorm_after");

            var intermediate = Activation(Project(normalized, $"{module}.intermediate.dense"),
                BiasInitializer($"{module}.intermediate.dense"), config.HiddenAct);
            pendingOutput = Project(intermediate, $"{module}.output.dense");
            pendingBias = BiasInitializer($"{module}.output.dense");
        }

        b.Scope = $"{Prefix}.layernorm";
        if (config.NumHiddenLayers == 0)
            return LayerNorm(b.Select(residual, 0, axis: 1), $"{Prefix}.layernorm", config.LayerNormEps);
        var final = b.Add(b.Add(pendingOutput!, pendingBias!), residual);
        return LayerNorm(final, $"{Prefix}.layernorm", config.LayerNormEps);
    }

    /// <summary>Multi-head self-attention over the packed Q/K/V projection; masked keys get float32's lowest value, as in HF.</summary>
    private string SelfAttention(string hidden, string mask, string module)
    {
        var (packedWeight, packedBias) = PackedQkv(module);
        OnnxAttribute[] attributes = [OnnxAttribute.Of("num_heads", (long)config.NumAttentionHeads), OnnxAttribute.Of("mask_filter_value", float.MinValue)];
        var bias = b.Initializer($"{module}.qkv.bias", packedBias, packedBias.Length);
        if (!quantize)
            return b.Op("Attention", [hidden, b.Initializer($"{module}.qkv.weight", packedWeight, config.HiddenSize, 3L * config.HiddenSize), bias, mask],
                attributes, Ms);

        var qkv = QuantizedMatMul(hidden, $"{module}.qkv", packedWeight, config.HiddenSize, 3 * config.HiddenSize);
        long width = config.HiddenSize;
        var parts = b.Ops("Split", 3, [qkv, b.Int64s(width, width, width)], [OnnxAttribute.Of("axis", 2L)]);
        return b.Op("MultiHeadAttention", [parts[0], parts[1], parts[2], bias, mask], attributes, Ms);
    }

    /// <summary>Query, key and value weights side by side as one [in, 3·hidden] matrix, and their biases (zeros without qkv_bias).</summary>
    private (float[] Weight, float[] Bias) PackedQkv(string module)
    {
        int width = config.HiddenSize;
        var packed = new float[width * 3 * width];
        var bias = new float[3 * width];
        string[] parts = ["query", "key", "value"];
        for (var part = 0; part < 3; part++)
        {
            var weight = Weight($"{module}.{parts[part]}.weight").Values; // [out, in]
            for (var o = 0; o < width; o++)
                for (var i = 0; i < width; i++)
                    packed[i * 3 * width + part * width + o] = weight[o * width + i];
            if (weights.TryGetValue($"{module}.{parts[part]}.bias", out var partBias))
                partBias.Values.CopyTo(bias, part * width);
        }
        return (packed, bias);
    }

    // ---- heads (ViltPooler, classifier) ----

    private string Pooler(string cls)
    {
        const string module = $"{Prefix}.pooler.dense";
        b.Scope = $"{Prefix}.pooler";
        return b.Op("Tanh", [b.Add(Project(cls, module, quantizable: false), BiasInitializer(module))]);
    }

    /// <summary>Linear(h, 2h) → LayerNorm(2h, eps 1e-5: nn.LayerNorm's default) → GELU (exact) → Linear(2h, labels).</summary>
    private string Classifier(string pooled)
    {
        b.Scope = "classifier";
        var hidden = b.Add(Project(pooled, "classifier.0", quantizable: false), BiasInitializer("classifier.0"));
        hidden = LayerNorm(hidden, "classifier.1", 1e-5);
        hidden = b.Op("Gelu", [hidden], domain: Ms);
        return b.Add(Project(hidden, "classifier.3", quantizable: false), BiasInitializer("classifier.3"));
    }

    // ---- building blocks ----

    /// <summary>
    /// <c>x · Wᵀ</c> of a Linear module, without its bias (the fused operator after it adds the bias). With int8 export
    /// only the encoder's products are quantized: the heads are a fraction of a percent of the work and decide the answer.
    /// </summary>
    private string Project(string x, string module, bool quantizable = true)
    {
        var weight = Weight($"{module}.weight");
        int outputs = (int)weight.Shape[0], inputs = (int)weight.Shape[1];
        var transposed = new float[weight.Values.Length];
        for (var o = 0; o < outputs; o++)
            for (var i = 0; i < inputs; i++)
                transposed[i * outputs + o] = weight.Values[o * inputs + i];
        return quantize && quantizable
            ? QuantizedMatMul(x, module, transposed, inputs, outputs)
            : b.MatMul(x, b.Initializer($"{module}.weight", transposed, inputs, outputs));
    }

    /// <summary>
    /// A product with int8 weights: each output column symmetric with its own scale, activations quantized to uint8
    /// per call by DynamicQuantizeMatMul. Weights use 7 bits (±63): x86 without VNNI multiplies uint8 × int8 pairs
    /// into saturating int16 sums, which 255 · 63 · 2 stays below.
    /// </summary>
    private string QuantizedMatMul(string x, string module, float[] weightInOut, int inputs, int outputs)
    {
        const int levels = 63;
        var scales = new float[outputs];
        var quantized = new sbyte[weightInOut.Length];
        for (var o = 0; o < outputs; o++)
        {
            var max = 0f;
            for (var i = 0; i < inputs; i++) max = Math.Max(max, Math.Abs(weightInOut[i * outputs + o]));
            scales[o] = max > 0 ? max / levels : 1f;
            for (var i = 0; i < inputs; i++)
                quantized[i * outputs + o] = (sbyte)Math.Clamp(MathF.Round(weightInOut[i * outputs + o] / scales[o]), -levels, levels);
        }
        var weight = b.Initializer(OnnxTensor.FromInt8s($"{module}.weight_int8", quantized, inputs, outputs));
        var scale = b.Initializer($"{module}.weight_scale", scales, outputs);
        return b.Op("DynamicQuantizeMatMul", [x, weight, scale], domain: Ms);
    }

    private string Activation(string x, string bias, string name) => name switch
    {
        "gelu" => b.Op("BiasGelu", [x, bias], domain: Ms),
        "gelu_new" or "gelu_pytorch_tanh" => b.Op("FastGelu", [x, bias], domain: Ms),
        "relu" => b.Op("Relu", [b.Add(x, bias)]),
        "tanh" => b.Op("Tanh", [b.Add(x, bias)]),
        _ => throw new UnsupportedModelException($"hidden_act '{name}' cannot be exported (gelu, gelu_new, relu, tanh can)."),
    };

    private string LayerNorm(string x, string module, double epsilon) =>
        b.Op("LayerNormalization", [x, WeightInitializer($"{module}.weight"), WeightInitializer($"{module}.bias")],
            [OnnxAttribute.Of("axis", -1L), OnnxAttribute.Of("epsilon", (float)epsilon)]);

    /// <summary>LayerNorm(x + bias + residual) and the sum itself, the next block's residual.</summary>
    private (string Normalized, string Sum) SkipLayerNorm(string x, string residual, string bias, string module)
    {
        var outputs = b.Ops("SkipLayerNormalization", 4,
            [x, residual, WeightInitializer($"{module}.weight"), WeightInitializer($"{module}.bias"), bias],
            [OnnxAttribute.Of("epsilon", (float)config.LayerNormEps)], Ms);
        return (outputs[0], outputs[3]);
    }

    private ExportWeight Weight(string key) =>
        weights.TryGetValue(key, out var weight)
            ? weight
            : throw new CheckpointMismatchException($"the model has no weight '{key}' to export.");

    private string WeightInitializer(string key)
    {
        var weight = Weight(key);
        return b.Initializer(key, weight.Values, weight.Shape);
    }

    /// <summary>A Linear module's bias; zeros when it has none.</summary>
    private string BiasInitializer(string module)
    {
        var key = $"{module}.bias";
        if (weights.ContainsKey(key)) return WeightInitializer(key);
        var outputs = Weight($"{module}.weight").Shape[0];
        return b.Initializer(key, new float[outputs], outputs);
    }

    /// <summary>Row <paramref name="row"/> of a 2-D (or [1, rows, width]) weight.</summary>
    private static float[] Row(ExportWeight weight, int row)
    {
        var width = (int)weight.Shape[^1];
        return weight.Values.AsSpan(row * width, width).ToArray();
    }
}
