using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace VqaPipeline.Ml.Imaging;

/// <summary>
/// The EXIF orientation <c>PIL.ImageOps.exif_transpose</c> (Pillow 9.4) applies, read from the encoded bytes the way
/// Pillow reads them: the first <c>Exif\0</c> APP1 of a JPEG; the eXIf chunk, else the "Raw profile type exif" text,
/// of a PNG, which also falls back to <c>tiff:Orientation</c> in its XMP text; the EXIF chunk of an extended WebP.
/// Where Pillow's own reading fails, <c>load_image</c> fails, and so does this.
/// </summary>
internal static partial class PillowExifOrientation
{
    private const int OrientationTag = 0x0112;

    /// <summary>The orientation, 1 (as stored) when there is none Pillow would act on.</summary>
    /// <exception cref="ImageLoadException">Pillow's EXIF reading raises on this file, so <c>load_image</c> fails.</exception>
    public static int Read(ReadOnlySpan<byte> encoded, string source)
    {
        var (exif, readAtOpen, xmp) =
            encoded.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? FromJpeg(encoded)
            : encoded.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]) ? FromPng(encoded)
            : encoded.Length >= 12 && encoded.StartsWith("RIFF"u8) && encoded[8..12].SequenceEqual("WEBP"u8) ? FromWebp(encoded)
            : (null, false, null);

        double? orientation = null;
        var hasOrientationTag = false;
        if (exif is not null)
        {
            var outcome = FromTiff(exif);
            if (outcome.Failure is { } failure && !(readAtOpen && outcome.SwallowedWhenReadAtOpen))
                throw new ImageLoadException(ImageLoadFailure.Corrupt, source,
                    $"EXIF data is unreadable ({failure}); transformers' load_image (Pillow) fails on this file too.");
            (orientation, hasOrientationTag) = (outcome.Orientation, outcome.HasOrientationTag);
        }
        // Pillow adds the XMP orientation only where the EXIF data has no orientation tag at all.
        if (!hasOrientationTag && xmp is not null && XmpOrientation().Match(xmp) is { Success: true } match)
            orientation = match.Groups[2].Value[0] - '0';
        return orientation is >= 2 and <= 8 && orientation % 1 == 0 ? (int)orientation : 1;
    }

    [GeneratedRegex("tiff:Orientation(=\"|>)([0-9])")]
    private static partial Regex XmpOrientation();

    // Pillow's JPEG reader stores the first APP1 that starts "Exif\0". It parses the EXIF data at once (catching a
    // SyntaxError) when no JFIF APP0 with unit 1 (dots per inch) came before it, to look for a resolution there.
    private static (byte[]? Exif, bool ReadAtOpen, string? Xmp) FromJpeg(ReadOnlySpan<byte> jpeg)
    {
        var hasDpi = false;
        var position = 2;
        while (position + 4 <= jpeg.Length)
        {
            if (jpeg[position] != 0xFF)
            {
                position++;
                continue;
            }
            var marker = jpeg[position + 1];
            if (marker is 0xFF or 0x00 or 0x01 or >= 0xD0 and <= 0xD8)
            {
                position += marker == 0xFF ? 1 : 2;
                continue;
            }
            if (marker is 0xDA or 0xD9) break;
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(position + 2)..]);
            if (length < 2 || position + 2 + length > jpeg.Length) break;
            var payload = jpeg.Slice(position + 4, length - 2);
            if (marker == 0xE0 && payload.StartsWith("JFIF"u8) && payload.Length >= 12 && payload[7] == 1) hasDpi = true;
            if (marker == 0xE1 && payload.StartsWith("Exif\0"u8)) return (payload.ToArray(), !hasDpi, null);
            position += 2 + length;
        }
        return (null, false, null);
    }

    // Pillow's PNG reader keeps the last eXIf chunk (prefixed with "Exif\0\0"), else hex text under "Raw profile type
    // exif"; it reads chunks after the image data too before exif_transpose looks.
    private static (byte[]? Exif, bool ReadAtOpen, string? Xmp) FromPng(ReadOnlySpan<byte> png)
    {
        byte[]? exif = null;
        string? rawProfile = null, xmp = null;
        var position = 8;
        while (position + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[position..]);
            if (length > png.Length - position - 12) break;
            var type = Encoding.ASCII.GetString(png.Slice(position + 4, 4));
            var data = png.Slice(position + 8, (int)length);
            if (type == "eXIf") exif = [.. "Exif\0\0"u8, .. data];
            else if (PngText(type, data) is var (key, value))
            {
                if (key == "Raw profile type exif") rawProfile = value;
                else if (key == "XML:com.adobe.xmp") xmp = value;
            }
            if (type == "IEND") break;
            position += 12 + (int)length;
        }
        if (exif is null && rawProfile is not null) exif = FromRawProfile(rawProfile);
        return (exif, false, xmp);
    }

    // getexif: bytes.fromhex("".join(text.split("\n")[3:])), which skips white space; other text raises ValueError,
    // which fails load_image. The failure travels as EXIF data that is not TIFF, so that it is reported the same way.
    private static byte[] FromRawProfile(string text)
    {
        var digits = string.Concat(string.Concat(text.Split('\n').Skip(3)).Where(c => !IsAsciiWhitespace(c)));
        return digits.Length % 2 == 0 && digits.All(char.IsAsciiHexDigit) ? Convert.FromHexString(digits) : NotHexadecimal;
    }

    private static readonly byte[] NotHexadecimal = "not hexadecimal"u8.ToArray();

    private static bool IsAsciiWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\v' or '\f';

    private static (string Key, string Value)? PngText(string type, ReadOnlySpan<byte> data)
    {
        var separator = data.IndexOf((byte)0);
        if (type is not ("tEXt" or "zTXt" or "iTXt") || separator <= 0) return null;
        var key = Encoding.Latin1.GetString(data[..separator]);
        var rest = data[(separator + 1)..];
        switch (type)
        {
            case "tEXt":
                return (key, Encoding.Latin1.GetString(rest));
            case "zTXt":
                return rest.Length > 0 && rest[0] == 0 ? (key, Encoding.Latin1.GetString(Inflate(rest[1..]) ?? [])) : null;
            default: // iTXt: compression flag and method, language, translated keyword, then the text
                if (rest.Length < 2) return null;
                var (compressed, method) = (rest[0] != 0, rest[1]);
                var fields = rest[2..];
                for (var skip = 0; skip < 2; skip++)
                {
                    var end = fields.IndexOf((byte)0);
                    if (end < 0) return null;
                    fields = fields[(end + 1)..];
                }
                var text = compressed ? method == 0 ? Inflate(fields) : null : fields.ToArray();
                try
                {
                    return text is null ? null : (key, new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text));
                }
                catch (DecoderFallbackException)
                {
                    return null;
                }
        }
    }

    private static byte[]? Inflate(ReadOnlySpan<byte> compressed)
    {
        try
        {
            using var input = new ZLibStream(new MemoryStream(compressed.ToArray()), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    // libwebp's demuxer gives the first EXIF chunk of an extended (VP8X) file.
    private static (byte[]? Exif, bool ReadAtOpen, string? Xmp) FromWebp(ReadOnlySpan<byte> webp)
    {
        if (webp.Length < 16 || !webp[12..16].SequenceEqual("VP8X"u8)) return (null, false, null);
        var position = 12;
        while (position + 8 <= webp.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(webp[(position + 4)..]);
            if (size > webp.Length - position - 8) break;
            if (webp.Slice(position, 4).SequenceEqual("EXIF"u8)) return (webp.Slice(position + 8, (int)size).ToArray(), false, null);
            position += 8 + (int)size + (int)(size & 1);
        }
        return (null, false, null);
    }

    private readonly record struct TiffOutcome(double? Orientation, bool HasOrientationTag, string? Failure, bool SwallowedWhenReadAtOpen);

    /// <summary>
    /// <c>Image.Exif.load</c> and <c>exif.get(0x0112)</c>: an IFD0 read as far as it goes (an entry whose data lies
    /// outside the block ends the reading, keeping the entries before it), the orientation a number of any numeric
    /// TIFF type. A header that is not TIFF raises SyntaxError; one cut short, or BigTIFF, a struct.error.
    /// </summary>
    private static TiffOutcome FromTiff(byte[] exif)
    {
        var data = exif.AsSpan();
        if (data.StartsWith("Exif\0\0"u8)) data = data[6..];
        if (data.IsEmpty) return new TiffOutcome(null, false, null, false);
        var head = data[..Math.Min(8, data.Length)];
        if (head.Length < 4 || !(head[..4].SequenceEqual("MM\0*"u8) || head[..4].SequenceEqual("II*\0"u8) ||
                                 head[..4].SequenceEqual("MM*\0"u8) || head[..4].SequenceEqual("II\0*"u8) ||
                                 head[..4].SequenceEqual("MM\0+"u8) || head[..4].SequenceEqual("II+\0"u8)))
            return new TiffOutcome(null, false, "not TIFF data", SwallowedWhenReadAtOpen: true);
        if (head[2] == 0x2B || head[3] == 0x2B || head.Length < 8)
            return new TiffOutcome(null, false, head.Length < 8 ? "the TIFF header is cut short" : "BigTIFF EXIF data", false);

        var little = head[0] == (byte)'I';
        uint U32(ReadOnlySpan<byte> bytes) => little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
        ushort U16(ReadOnlySpan<byte> bytes) => little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes);

        var ifd = (long)U32(head[4..8]);
        (ushort Type, byte[] Value)? orientation = null;
        if (ifd + 2 <= data.Length)
        {
            int count = U16(data[(int)ifd..]);
            for (var entry = 0; entry < count; entry++)
            {
                var at = ifd + 2 + 12L * entry;
                if (at + 12 > data.Length) break;
                var fields = data.Slice((int)at, 12);
                var (tag, type, valueCount) = (U16(fields), U16(fields[2..]), U32(fields[4..]));
                if (UnitSize(type) is not int unit) continue;
                var size = (long)valueCount * unit;
                ReadOnlySpan<byte> value;
                if (size > 4)
                {
                    var offset = U32(fields[8..]);
                    if (offset + size > data.Length) break; // Pillow's _safe_read raises OSError: the IFD ends here
                    value = data.Slice((int)offset, (int)size);
                }
                else value = fields.Slice(8, (int)size);
                if (value.IsEmpty) continue;
                if (tag == OrientationTag) orientation = (type, value.ToArray());
            }
        }
        return new TiffOutcome(orientation is { } found ? FirstNumber(found.Type, found.Value, little) : null, orientation is not null, null, false);
    }

    private static int? UnitSize(ushort type) => type switch
    {
        1 or 2 or 6 or 7 => 1,
        3 or 8 => 2,
        4 or 9 or 11 or 13 => 4,
        5 or 10 or 12 or 16 or 17 or 18 => 8,
        _ => null,
    };

    // BYTE and UNDEFINED come back as bytes and ASCII as text, which match no orientation; a zero denominator is NaN.
    private static double? FirstNumber(ushort type, byte[] value, bool little)
    {
        ulong Unsigned(int size, int at = 0)
        {
            var bytes = value.AsSpan(at, size);
            return size switch
            {
                2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes) : BinaryPrimitives.ReadUInt16BigEndian(bytes),
                4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes),
                _ => little ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : BinaryPrimitives.ReadUInt64BigEndian(bytes),
            };
        }
        double Rational(bool signed)
        {
            var (numerator, denominator) = ((uint)Unsigned(4), (uint)Unsigned(4, 4));
            double top = signed ? (int)numerator : numerator, bottom = signed ? (int)denominator : denominator;
            return bottom == 0 ? double.NaN : top / bottom;
        }
        return type switch
        {
            3 => Unsigned(2),
            4 or 13 => Unsigned(4),
            16 or 18 => Unsigned(8),
            6 => (sbyte)value[0],
            8 => (short)Unsigned(2),
            9 => (int)Unsigned(4),
            17 => (long)Unsigned(8),
            5 => Rational(signed: false),
            10 => Rational(signed: true),
            11 => BitConverter.Int32BitsToSingle((int)Unsigned(4)),
            12 => BitConverter.Int64BitsToDouble((long)Unsigned(8)),
            _ => null,
        };
    }
}
