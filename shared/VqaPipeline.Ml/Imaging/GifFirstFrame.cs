namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// What Pillow shows where a GIF's first frame is transparent or absent: it opens the frame as a palette image filled
/// with the transparent index (index 0 without one), and <c>convert("RGB")</c> gives that index's palette colour,
/// where a decoder that composes frames gives transparent black.
/// </summary>
internal static class GifFirstFrame
{
    /// <summary>
    /// The RGB colour of the index behind the first frame's transparent or uncovered pixels, or null where the file
    /// does not get that far or its colour table lacks the index.
    /// </summary>
    public static (byte R, byte G, byte B)? BackgroundColour(ReadOnlySpan<byte> gif)
    {
        const int screenDescriptorEnd = 13;
        if (gif.Length < screenDescriptorEnd || !gif.StartsWith("GIF8"u8)) return null;
        var globalTable = TableRange(gif[10], screenDescriptorEnd);
        var position = globalTable.End;
        int? transparentIndex = null;
        while (position < gif.Length)
        {
            switch (gif[position])
            {
                case 0x21 when position + 1 < gif.Length: // extension: label, then data sub-blocks
                    var label = gif[position + 1];
                    // A graphic control extension: size 4, flags (bit 0: transparency), delay (2), transparent index.
                    if (label == 0xF9 && position + 6 < gif.Length && gif[position + 2] == 4 && (gif[position + 3] & 1) != 0)
                        transparentIndex = gif[position + 6];
                    else if (label == 0xF9) transparentIndex = null;
                    position = SkipSubBlocks(gif, position + 2);
                    break;
                case 0x2C when position + 10 <= gif.Length: // image descriptor: its local table, if any, wins
                    var localTable = TableRange(gif[position + 9], position + 10);
                    var table = localTable.Length > 0 ? localTable : globalTable;
                    var index = transparentIndex ?? 0;
                    if (table.End > gif.Length || 3 * index + 3 > table.Length) return null;
                    var colour = gif.Slice(table.Start + 3 * index, 3);
                    return (colour[0], colour[1], colour[2]);
                default:
                    return null;
            }
        }
        return null;
    }

    // A colour table follows a descriptor whose flags have bit 7 set; bits 0-2 give 2^(n+1) entries of 3 bytes.
    private static (int Start, int End, int Length) TableRange(byte flags, int start)
    {
        var length = (flags & 0x80) != 0 ? 3 * (2 << (flags & 7)) : 0;
        return (start, start + length, length);
    }

    private static int SkipSubBlocks(ReadOnlySpan<byte> gif, int position)
    {
        while (position < gif.Length && gif[position] != 0) position += gif[position] + 1;
        return position + 1;
    }
}
