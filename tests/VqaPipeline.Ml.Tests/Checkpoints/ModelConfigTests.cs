using System.Text.Json.Nodes;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Tests.Checkpoints;

public class ModelConfigTests
{
    [Fact]
    public void Vilt_config_loads_typed_and_saves_byte_identical_to_transformers()
    {
        var folder = Fixtures.PathOf("vilt-tiny");
        var fixture = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();

        var config = ModelConfig.Load<ViltConfig>(folder);

        Assert.Equal(fixture["hidden_size"]!.GetValue<int>(), config.HiddenSize);
        Assert.Equal(fixture["num_hidden_layers"]!.GetValue<int>(), config.NumHiddenLayers);
        Assert.Equal(fixture["layer_norm_eps"]!.GetValue<double>(), config.LayerNormEps);
        Assert.Equal(fixture["id2label"]!.AsObject().Count, config.NumLabels);
        foreach (var (index, label) in fixture["id2label"]!.AsObject())
            Assert.Equal(label!.GetValue<string>(), config.Id2Label[int.Parse(index)]);
        Assert.Equal(fixture["architectures"]!.AsArray().Select(name => name!.GetValue<string>()), config.Architectures!);
        Assert.Empty(config.ExtensionData);
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "config.json")), config.ToJsonString());
    }

    [Fact]
    public void Defaults_are_transformers_defaults()
    {
        var config = new ViltConfig();
        Assert.Equal("vilt", config.ModelType);
        Assert.Equal((30522, 2, 2, 40), (config.VocabSize, config.TypeVocabSize, config.ModalityTypeVocabSize, config.MaxPositionEmbeddings));
        Assert.Equal((768, 12, 12, 3072, "gelu"), (config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.IntermediateSize, config.HiddenAct));
        Assert.Equal((0.0, 0.0, 0.02, 1e-12), (config.HiddenDropoutProb, config.AttentionProbsDropoutProb, config.InitializerRange, config.LayerNormEps));
        Assert.Equal((384, 32, 3, true, -1, false, -1), (config.ImageSize, config.PatchSize, config.NumChannels, config.QkvBias, config.MaxImageLength, config.TieWordEmbeddings, config.NumImages));
        Assert.Equal(2, config.NumLabels);
    }

    [Fact]
    public void Unknown_fields_survive_a_round_trip()
    {
        using var folder = new TemporaryFolder();
        var json = JsonNode.Parse(File.ReadAllText(Fixtures.PathOf("vilt-tiny", "config.json")))!.AsObject();
        json["_name_or_path"] = "dandelin/vilt-b32-finetuned-vqa";
        json["custom_head"] = new JsonObject { ["scale"] = 0.5, ["layers"] = new JsonArray(1, 2, 3), ["note"] = "café" };
        File.WriteAllText(folder.File("config.json"), json.ToJsonString());

        var config = ModelConfig.Load(folder.Path);
        config.Save(folder.Path);
        var saved = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();

        Assert.Equal("dandelin/vilt-b32-finetuned-vqa", saved["_name_or_path"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(json["custom_head"], saved["custom_head"]));
        Assert.Contains("\"note\": \"caf\\u00e9\"", File.ReadAllText(folder.File("config.json")));
        Assert.True(JsonNode.DeepEquals(json, saved));
    }

    [Fact]
    public void Num_labels_without_id2label_makes_generic_labels_and_is_not_written_back()
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("config.json"), """{"model_type": "vilt", "num_labels": 3}""");

        var config = ModelConfig.Load(folder.Path);

        Assert.Equal(3, config.NumLabels);
        Assert.Equal("LABEL_2", config.Id2Label[2]);
        Assert.Equal(2, config.Label2Id["LABEL_2"]);
        Assert.DoesNotContain("num_labels", config.ToJsonString());
    }

    [Fact]
    public void Folder_without_config_is_not_a_model()
    {
        using var folder = new TemporaryFolder();
        var error = Assert.Throws<ModelNotFoundException>(() => ModelConfig.Load(folder.Path));
        Assert.Equal($"'{folder.Path}' has no config.json", error.Message);
    }

    [Fact]
    public void Unknown_model_type_names_it_and_the_supported_ones()
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("config.json"), """{"model_type": "bert", "hidden_size": 768}""");
        var error = Assert.Throws<UnsupportedModelException>(() => ModelConfig.Load(folder.Path));
        Assert.Contains("'bert'", error.Message);
        Assert.Contains("vilt", error.Message);
    }

    [Theory]
    [InlineData("{\"model_type\": \"vilt\", ")]
    [InlineData("[1, 2]")]
    [InlineData("{\"model_type\": \"vilt\", \"hidden_size\": \"big\"}")]
    public void Malformed_config_is_a_format_error(string text)
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("config.json"), text);
        Assert.Throws<CheckpointFormatException>(() => ModelConfig.Load(folder.Path));
    }

    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(1e-12, "1e-12")]
    [InlineData(0.02, "0.02")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(123.456, "123.456")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(384.0, "384.0")]
    public void Floats_are_written_as_python_repr(double value, string expected) =>
        Assert.Equal(expected, PythonJson.FormatFloat(value));
}
