using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>Just enough safetensors to read the expected tensors of the image-processing fixtures.</summary>
internal static class SafetensorsTestReader
{
    public sealed record Tensor(string DType, int[] Shape, byte[] Data)
    {
        public float[] AsFloat32()
        {
            Assert.Equal("F32", DType);
            return MemoryMarshal.Cast<byte, float>(Data).ToArray();
        }

        public byte[] AsUInt8()
        {
            Assert.Equal("U8", DType);
            return Data;
        }
    }

    public static Tensor Read(string path, string name)
    {
        var file = File.ReadAllBytes(path);
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        using var header = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty(name);
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(offset => offset.GetInt32()).ToArray();
        var shape = entry.GetProperty("shape").EnumerateArray().Select(dimension => dimension.GetInt32()).ToArray();
        var dataStart = 8 + headerLength;
        return new Tensor(entry.GetProperty("dtype").GetString()!, shape,
            file.AsSpan(dataStart + offsets[0], offsets[1] - offsets[0]).ToArray());
    }
}
