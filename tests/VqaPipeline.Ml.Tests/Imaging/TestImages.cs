using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using SkiaSharp;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>Builds encoded test inputs: SkiaSharp for PNG/JPEG/WebP, hand-written bytes for BMP, GIF, EXIF, PNG headers.</summary>
internal static class TestImages
{
    public static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = ToBitmap(image);
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] EncodeLosslessWebp(RgbImage image)
    {
        using var bitmap = ToBitmap(image);
        using var pixmap = bitmap.PeekPixels() ?? throw new InvalidOperationException("bitmap has no pixels");
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))
                         ?? throw new InvalidOperationException("WebP encoding failed");
        return data.ToArray();
    }

    /// <summary>An RGBA PNG whose alpha varies per pixel, colour values stored unpremultiplied.</summary>
    public static byte[] EncodeRgbaPng(RgbImage image, Func<int, int, byte> alphaAt)
    {
        var rgba = new byte[image.Width * image.Height * 4];
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        {
            var pixel = y * image.Width + x;
            image.Pixels.AsSpan(pixel * 3, 3).CopyTo(rgba.AsSpan(pixel * 4));
            rgba[pixel * 4 + 3] = alphaAt(x, y);
        }
        return EncodeRgba(rgba, image.Width, image.Height);
    }

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var rgba = new byte[image.Width * image.Height * 4];
        for (var pixel = 0; pixel < image.Width * image.Height; pixel++)
        {
            image.Pixels.AsSpan(pixel * 3, 3).CopyTo(rgba.AsSpan(pixel * 4));
            rgba[pixel * 4 + 3] = 255;
        }
        return BitmapOf(rgba, image.Width, image.Height, SKAlphaType.Opaque);
    }

    private static byte[] EncodeRgba(byte[] rgba, int width, int height)
    {
        using var bitmap = BitmapOf(rgba, width, height, SKAlphaType.Unpremul);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKBitmap BitmapOf(byte[] rgba, int width, int height, SKAlphaType alphaType)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, alphaType));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    /// <summary>A 24-bit bottom-up BMP.</summary>
    public static byte[] EncodeBmp(RgbImage image)
    {
        var rowSize = (image.Width * 3 + 3) / 4 * 4;
        var bytes = new byte[54 + rowSize * image.Height];
        "BM"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), image.Width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), image.Height);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        {
            var source = (y * image.Width + x) * 3;
            var target = 54 + (image.Height - 1 - y) * rowSize + x * 3;
            bytes[target] = image.Pixels[source + 2];
            bytes[target + 1] = image.Pixels[source + 1];
            bytes[target + 2] = image.Pixels[source];
        }
        return bytes;
    }

    /// <summary>
    /// An animated GIF with a 256-colour global palette; each frame is a full-size grid of palette indices.
    /// LZW data uses literal codes only, with a clear code often enough that codes stay 9 bits wide.
    /// </summary>
    public static byte[] EncodeGif(int width, int height, byte[] palette, params byte[][] frames)
    {
        using var gif = new MemoryStream();
        var writer = new BinaryWriter(gif);
        writer.Write("GIF89a"u8);
        writer.Write((ushort)width);
        writer.Write((ushort)height);
        writer.Write(new byte[] { 0xF7, 0, 0 }); // global 256-colour table, background 0, square pixels
        writer.Write(palette);
        writer.Write(new byte[] { 0x21, 0xFF, 11 }); // application extension: loop forever
        writer.Write("NETSCAPE2.0"u8);
        writer.Write(new byte[] { 3, 1, 0, 0, 0 });
        foreach (var indices in frames)
        {
            writer.Write(new byte[] { 0x21, 0xF9, 4, 0x04, 10, 0, 0, 0 }); // graphic control: keep frame, 100 ms
            writer.Write((byte)0x2C);
            writer.Write((ushort)0);
            writer.Write((ushort)0);
            writer.Write((ushort)width);
            writer.Write((ushort)height);
            writer.Write((byte)0);
            writer.Write((byte)8);
            var lzw = LiteralLzw(indices);
            for (var offset = 0; offset < lzw.Length; offset += 255)
            {
                var length = Math.Min(255, lzw.Length - offset);
                writer.Write((byte)length);
                writer.Write(lzw, offset, length);
            }
            writer.Write((byte)0);
        }
        writer.Write((byte)0x3B);
        writer.Flush();
        return gif.ToArray();
    }

    private static byte[] LiteralLzw(byte[] indices)
    {
        const int clear = 256, end = 257, literalsPerClear = 250;
        var bits = new List<bool>();
        void Emit(int code)
        {
            for (var bit = 0; bit < 9; bit++)
                bits.Add(((code >> bit) & 1) != 0);
        }
        for (var i = 0; i < indices.Length; i++)
        {
            if (i % literalsPerClear == 0)
                Emit(clear);
            Emit(indices[i]);
        }
        Emit(end);
        var bytes = new byte[(bits.Count + 7) / 8];
        for (var i = 0; i < bits.Count; i++)
            if (bits[i])
                bytes[i / 8] |= (byte)(1 << (i % 8));
        return bytes;
    }

    /// <summary>Inserts an APP1 Exif segment holding only the orientation tag right after the JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        Assert.True(jpeg[0] == 0xFF && jpeg[1] == 0xD8, "not a JPEG");
        byte[] tiff =
        [
            (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, // little-endian TIFF header, first IFD at offset 8
            1, 0, // one entry
            0x12, 0x01, 3, 0, 1, 0, 0, 0, (byte)orientation, 0, 0, 0, // tag 0x0112 SHORT count 1
            0, 0, 0, 0, // no next IFD
        ];
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segmentLength = payload.Length + 2;
        byte[] segment = [0xFF, 0xE1, (byte)(segmentLength >> 8), (byte)segmentLength, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    /// <summary>A PNG with a valid IHDR claiming the given size, one tiny IDAT and IEND.</summary>
    public static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            zlib.Write(new byte[64]);
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", compressed.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        png.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
