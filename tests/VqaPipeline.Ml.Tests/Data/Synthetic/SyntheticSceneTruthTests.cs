using System.Text.Json;
using System.Text.RegularExpressions;
using VqaPipeline.Ml.Data.Synthetic;
using VqaPipeline.Ml.Imaging;

namespace VqaPipeline.Ml.Tests.Data.Synthetic;

/// <summary>
/// The images show what scenes.json says, objects never overlap, and every answer follows from the scene: the tests
/// read each question's words afresh and answer it from the listed objects.
/// </summary>
public sealed partial class SyntheticSceneTruthTests(FreeLayoutDataset shared) : IClassFixture<FreeLayoutDataset>
{
    private GeneratedDataset Data => shared.Dataset;

    private sealed record Thing(string Shape, string Color, string Size, int X, int Y, int Extent)
    {
        public bool Matches(string? shape, string? color, string? size) =>
            (shape is null or "object" || Shape == shape) && (color is null || Color == color) && (size is null || Size == size);
    }

    private static List<Thing> Things(JsonElement scene) => scene.GetProperty("objects").EnumerateArray()
        .Select(o => new Thing(o.GetProperty("shape").GetString()!, o.GetProperty("color").GetString()!, o.GetProperty("size").GetString()!,
            o.GetProperty("x").GetInt32(), o.GetProperty("y").GetInt32(), o.GetProperty("extent").GetInt32()))
        .ToList();

    [Fact]
    public void Objects_stay_inside_the_image_apart_from_each_other_and_within_the_object_count_range()
    {
        foreach (var scene in Data.SceneRows)
        {
            var things = Things(scene);
            var size = scene.GetProperty("width").GetInt32();
            Assert.InRange(things.Count, Data.Options.MinObjects, Data.Options.MaxObjects);
            Assert.All(things, t => Assert.True(t.X - t.Extent / 2 >= 0 && t.X + t.Extent / 2 <= size
                                                  && t.Y - t.Extent / 2 >= 0 && t.Y + t.Extent / 2 <= size, $"{t} leaves the image"));
            foreach (var (a, i) in things.Select((t, i) => (t, i)))
            foreach (var b in things.Skip(i + 1))
                Assert.True(Math.Abs(a.X - b.X) * 2 > a.Extent + b.Extent || Math.Abs(a.Y - b.Y) * 2 > a.Extent + b.Extent,
                    $"{a} overlaps {b}");
        }
    }

    [Fact]
    public void Each_object_is_painted_in_its_colour_at_its_centre()
    {
        var loader = new ImageLoader();
        foreach (var scene in Data.SceneRows.Take(50))
        {
            var image = loader.LoadFile(Path.Combine(Data.Folder, "images", scene.GetProperty("file_name").GetString()!));
            foreach (var thing in Things(scene))
            {
                var offset = (thing.Y * image.Width + thing.X) * 3;
                var pixel = new Rgb(image.Pixels[offset], image.Pixels[offset + 1], image.Pixels[offset + 2]);
                var nearest = SceneVocabulary.Colors.MinBy(c => SceneVocabulary.Paint(c).DistanceTo(pixel));
                Assert.Equal(thing.Color, SceneVocabulary.Word(nearest));
                Assert.True(SceneVocabulary.Paint(nearest).DistanceTo(pixel) < 30, $"{thing}: pixel {pixel}");
            }
        }
    }

    [Fact]
    public void Sizes_have_one_extent_each_with_large_clearly_bigger()
    {
        var extents = Data.SceneRows.SelectMany(Things).GroupBy(t => t.Size).ToDictionary(g => g.Key, g => g.Select(t => t.Extent).Distinct().Single());

        Assert.True(extents["large"] >= 1.6 * extents["small"], $"small {extents["small"]}, large {extents["large"]}");
    }

    [Fact]
    public void Backgrounds_stay_far_from_every_object_colour()
    {
        foreach (var scene in Data.SceneRows)
        foreach (var end in new[] { "from", "to" })
        {
            var rgb = scene.GetProperty("background").GetProperty(end).EnumerateArray().Select(v => (byte)v.GetInt32()).ToArray();
            var color = new Rgb(rgb[0], rgb[1], rgb[2]);
            Assert.All(SceneVocabulary.Colors, c => Assert.True(SceneVocabulary.Paint(c).DistanceTo(color) >= 150, $"{color} near {c}"));
        }
        Assert.Contains(Data.SceneRows, s => !s.GetProperty("background").GetProperty("from").Equals(s.GetProperty("background").GetProperty("to")));
    }

    [Fact]
    public void Object_colours_are_far_apart()
    {
        foreach (var (a, i) in SceneVocabulary.Colors.Select((c, i) => (c, i)))
        foreach (var b in SceneVocabulary.Colors.Skip(i + 1))
            Assert.True(SceneVocabulary.Paint(a).DistanceTo(SceneVocabulary.Paint(b)) >= 80, $"{a} near {b}");
    }

    [Fact]
    public void Every_answer_follows_from_the_scene()
    {
        var scenes = Data.SceneRows.ToDictionary(s => s.GetProperty("image_id").GetInt64(), Things);
        var truths = Data.AnnotationRows.ToDictionary(a => a.GetProperty("question_id").GetInt64(),
            a => a.GetProperty("multiple_choice_answer").GetString());
        var imageSize = Data.Options.ImageSize;

        foreach (var question in Data.QuestionRows)
        {
            var text = question.GetProperty("question").GetString()!;
            var things = scenes[question.GetProperty("image_id").GetInt64()];
            Assert.Equal(AnswerFromScene(text, things, imageSize), truths[question.GetProperty("question_id").GetInt64()]);
        }
    }

    private static string AnswerFromScene(string question, List<Thing> things, int imageSize)
    {
        if (ExistenceQuestion().Match(question) is { Success: true } existence)
            return YesNo(things.Any(t => t.Matches(existence.Groups["shape"].Value, Optional(existence, "color"), null)));
        if (CountingQuestion().Match(question) is { Success: true } counting)
            return things.Count(t => t.Matches(counting.Groups["shape"].Value, Optional(counting, "color"), null)).ToString();
        if (ColorQuestion().Match(question) is { Success: true } color)
            return The(things, color.Groups["shape"].Value, null, Optional(color, "size")).Color;
        if (ShapeQuestion().Match(question) is { Success: true } shape)
            return The(things, null, shape.Groups["color"].Value, Optional(shape, "size")).Shape;
        if (SizeQuestion().Match(question) is { Success: true } size)
            return The(things, size.Groups["shape"].Value, size.Groups["color"].Value, null).Size;
        if (SpatialQuestion().Match(question) is { Success: true } spatial)
        {
            var first = The(things, spatial.Groups["shape1"].Value, spatial.Groups["color1"].Value, null);
            var second = The(things, spatial.Groups["shape2"].Value, spatial.Groups["color2"].Value, null);
            var difference = spatial.Groups["relation"].Value switch
            {
                "left of" => second.X - first.X,
                "right of" => first.X - second.X,
                "above" => second.Y - first.Y,
                _ => first.Y - second.Y,
            };
            // Near-ties would make the answer a matter of opinion: they must never be asked.
            Assert.True(Math.Abs(difference) >= 0.04 * imageSize, $"'{question}' asked about objects {difference} px apart");
            return YesNo(difference > 0);
        }
        throw new Xunit.Sdk.XunitException($"unexpected question '{question}'");
    }

    /// <summary>The one object the words describe; a question about an ambiguous description fails here.</summary>
    private static Thing The(List<Thing> things, string? shape, string? color, string? size) =>
        Assert.Single(things, t => t.Matches(shape, color, size));

    private static string? Optional(Match match, string group) => match.Groups[group].Success ? match.Groups[group].Value : null;

    private static string YesNo(bool truth) => truth ? "yes" : "no";

    private const string Colors = "(?<color>red|green|blue|yellow|purple|orange)";

    [GeneratedRegex($"^Is there an? (?:{Colors} )?(?<shape>circle|square|triangle|object)\\?$")]
    private static partial Regex ExistenceQuestion();

    [GeneratedRegex($"^How many (?:{Colors} )?(?<shape>circle|square|triangle|object)s are there\\?$")]
    private static partial Regex CountingQuestion();

    [GeneratedRegex("^What color is the (?:(?<size>small|large) )?(?<shape>circle|square|triangle)\\?$")]
    private static partial Regex ColorQuestion();

    [GeneratedRegex($"^What shape is the (?:(?<size>small|large) )?{Colors} object\\?$")]
    private static partial Regex ShapeQuestion();

    [GeneratedRegex($"^What size is the {Colors} (?<shape>circle|square|triangle)\\?$")]
    private static partial Regex SizeQuestion();

    [GeneratedRegex("^Is the (?<color1>\\w+) (?<shape1>\\w+) (?<relation>left of|right of|above|below) the (?<color2>\\w+) (?<shape2>\\w+)\\?$")]
    private static partial Regex SpatialQuestion();
}
