using System.Buffers.Binary;
using System.IO.Compression;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// The 16-bit samples of a 16-bit gray PNG (colour type 0), which Skia only hands out narrowed to 8 bits. Pillow opens
/// such a file as 32-bit integers (mode "I") and <c>convert("RGB")</c> clips them to 255, so a gray level of 200 out of
/// 65535 stays 200 and one of 300 is white: the low levels must be read exactly.
/// </summary>
internal static class SixteenBitGrayPng
{
    // Adam7: (first column, first row, column step, row step) of each of the seven passes.
    private static readonly (int X, int Y, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>Whether the IHDR says bit depth 16, colour type 0.</summary>
    public static bool Is(ReadOnlySpan<byte> encoded) =>
        encoded.Length > 28 && encoded.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])
                            && encoded[12..16].SequenceEqual("IHDR"u8) && encoded[24] == 16 && encoded[25] == 0;

    /// <summary>Row-major gray levels, or null when the image data is cut short or malformed.</summary>
    public static ushort[]? Decode(ReadOnlySpan<byte> png)
    {
        var width = (int)BinaryPrimitives.ReadUInt32BigEndian(png[16..]);
        var height = (int)BinaryPrimitives.ReadUInt32BigEndian(png[20..]);
        var interlaced = png[28] == 1;
        var compressed = new MemoryStream();
        for (var position = 8; position + 12 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[position..]);
            if (length > png.Length - position - 12) return null;
            var type = png.Slice(position + 4, 4);
            if (type.SequenceEqual("IDAT"u8)) compressed.Write(png.Slice(position + 8, (int)length));
            if (type.SequenceEqual("IEND"u8)) break;
            position += 12 + (int)length;
        }

        var passes = interlaced ? Adam7 : [(0, 0, 1, 1)];
        var filtered = Inflate(compressed);
        if (filtered is null) return null;
        var levels = new ushort[(long)width * height];
        var offset = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            var (columns, rows) = ((width - x0 + dx - 1) / dx, (height - y0 + dy - 1) / dy);
            if (columns <= 0 || rows <= 0) continue;
            var stride = 2 * columns;
            var previous = new byte[stride];
            for (var row = 0; row < rows; row++)
            {
                if (offset + 1 + stride > filtered.Length) return null;
                var current = filtered.AsSpan(offset + 1, stride);
                if (!Unfilter(filtered[offset], current, previous)) return null;
                for (var column = 0; column < columns; column++)
                    levels[(long)(y0 + row * dy) * width + x0 + column * dx] = BinaryPrimitives.ReadUInt16BigEndian(current[(2 * column)..]);
                current.CopyTo(previous);
                offset += 1 + stride;
            }
        }
        return levels;
    }

    private static byte[]? Inflate(MemoryStream compressed)
    {
        compressed.Position = 0;
        try
        {
            using var inflater = new ZLibStream(compressed, CompressionMode.Decompress);
            using var output = new MemoryStream();
            inflater.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    // PNG's five filters over two-byte pixels: none, sub, up, average, Paeth.
    private static bool Unfilter(byte filter, Span<byte> row, ReadOnlySpan<byte> above)
    {
        const int bytesPerPixel = 2;
        for (var i = 0; i < row.Length; i++)
        {
            int left = i >= bytesPerPixel ? row[i - bytesPerPixel] : 0, up = above[i];
            int upperLeft = i >= bytesPerPixel ? above[i - bytesPerPixel] : 0;
            row[i] += filter switch
            {
                0 => 0,
                1 => (byte)left,
                2 => (byte)up,
                3 => (byte)((left + up) / 2),
                4 => (byte)Paeth(left, up, upperLeft),
                _ => 0,
            };
        }
        return filter <= 4;
    }

    private static int Paeth(int left, int up, int upperLeft)
    {
        var estimate = left + up - upperLeft;
        var (toLeft, toUp, toUpperLeft) = (Math.Abs(estimate - left), Math.Abs(estimate - up), Math.Abs(estimate - upperLeft));
        return toLeft <= toUp && toLeft <= toUpperLeft ? left : toUp <= toUpperLeft ? up : upperLeft;
    }
}
