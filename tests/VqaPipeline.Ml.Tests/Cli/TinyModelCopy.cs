using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using VqaPipeline.Ml.Tests.Checkpoints;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>A temporary copy of a tiny model folder (vilt-tiny unless named; its files, not its expected outputs), to break on purpose.</summary>
internal sealed class TinyModelCopy : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public TinyModelCopy(string fixtureModel = "vilt-tiny")
    {
        foreach (var file in Directory.GetFiles(Fixtures.PathOf(fixtureModel)))
            System.IO.File.Copy(file, _folder.File(System.IO.Path.GetFileName(file)));
    }

    public string Path => _folder.Path;

    public string File(string name) => _folder.File(name);

    public void Delete(string name) => System.IO.File.Delete(File(name));

    public void EditConfig(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(System.IO.File.ReadAllText(File("config.json")))!.AsObject();
        edit(config);
        System.IO.File.WriteAllText(File("config.json"), config.ToJsonString());
    }

    /// <summary>Adds a one-float tensor the model has no parameter for to model.safetensors.</summary>
    public void AddUnusedSafetensorsKey(string key)
    {
        var bytes = System.IO.File.ReadAllBytes(File("model.safetensors"));
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        var data = bytes.AsSpan(8 + headerLength).ToArray();
        header[key] = new JsonObject
        {
            ["dtype"] = "F32",
            ["shape"] = new JsonArray(1),
            ["data_offsets"] = new JsonArray(data.Length, data.Length + 4),
        };
        var headerText = header.ToJsonString();
        headerText += new string(' ', (8 - headerText.Length % 8) % 8);
        using var output = System.IO.File.Create(File("model.safetensors"));
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerText.Length);
        output.Write(length);
        output.Write(Encoding.UTF8.GetBytes(headerText));
        output.Write(data);
        output.Write(BitConverter.GetBytes(1.0f));
    }

    public void Dispose() => _folder.Dispose();
}
