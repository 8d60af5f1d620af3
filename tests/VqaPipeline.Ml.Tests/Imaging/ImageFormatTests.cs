using System.Text.Json;
using VqaPipeline.Ml.Imaging;
using Xunit.Abstractions;

namespace VqaPipeline.Ml.Tests.Imaging;

/// <summary>
/// Every image of <c>Imaging/Formats</c> (GIF transparency, CMYK and YCCK JPEG, 16-bit PNG, palette PNG with tRNS,
/// EXIF orientations, WebP, broken EXIF blocks) loads to the bytes transformers' <c>load_image</c> gives with Pillow
/// 9.4, as <c>make_formats.py</c> recorded them in <c>manifest.json</c>.
/// </summary>
public class ImageFormatTests(ITestOutputHelper output)
{
    internal static string Folder => Path.Combine(Fixtures.RepositoryRoot, "tests", "VqaPipeline.Ml.Tests", "Imaging", "Formats");

    private static readonly Lazy<JsonElement> Manifest = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "manifest.json"))).RootElement.Clone());

    public static TheoryData<string> Images()
    {
        var data = new TheoryData<string>();
        foreach (var image in Manifest.Value.GetProperty("images").EnumerateArray()) data.Add(image.GetProperty("file").GetString()!);
        return data;
    }

    [Fact]
    public void The_expected_pixels_come_from_pillow_9_4() =>
        Assert.Equal("9.4.0", Manifest.Value.GetProperty("pillow").GetString());

    [Theory]
    [MemberData(nameof(Images))]
    public void Loads_to_the_bytes_pillow_gives(string file)
    {
        var entry = Manifest.Value.GetProperty("images").EnumerateArray().Single(e => e.GetProperty("file").GetString() == file);
        if (entry.TryGetProperty("error", out var pillowError))
        {
            // load_image raises on this file: so does the loader, with one line that says why.
            var error = Assert.Throws<ImageLoadException>(() => new ImageLoader().LoadFile(Path.Combine(Folder, file)));
            output.WriteLine($"{file}: Pillow: {pillowError.GetString()}; loader: {error.Message}");
            Assert.DoesNotContain('\n', error.Message);
            return;
        }
        var loaded = new ImageLoader().LoadFile(Path.Combine(Folder, file));

        var (width, height) = (entry.GetProperty("width").GetInt32(), entry.GetProperty("height").GetInt32());
        Assert.Equal((width, height), (loaded.Width, loaded.Height));
        var expected = File.ReadAllBytes(Path.Combine(Folder, entry.GetProperty("expected").GetString()!));
        var differing = Enumerable.Range(0, expected.Length).Where(i => expected[i] != loaded.Pixels[i]).ToList();
        var largest = differing.Count == 0 ? 0 : differing.Max(i => Math.Abs(expected[i] - loaded.Pixels[i]));
        output.WriteLine($"{file} ({entry.GetProperty("pillow_mode").GetString()}): {differing.Count} of {expected.Length} bytes differ, by at most {largest}");
        Assert.True(differing.Count == 0,
            $"{file}: {differing.Count} of {expected.Length} bytes differ from Pillow's, by at most {largest} " +
            $"(first at byte {differing.FirstOrDefault()}: {loaded.Pixels[differing.FirstOrDefault()]}, Pillow {expected[differing.FirstOrDefault()]})");
    }
}
