using System.CommandLine;
using System.Globalization;
using VqaPipeline.Ml.Data.Synthetic;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa data synth</c>: renders a synthetic shapes dataset in the VQA v2 layout.</summary>
internal static class DataSynthCommand
{
    public static Command Create(CliConsole console)
    {
        var defaults = new SyntheticOptions();
        var output = new Option<string>("--out", "-o") { Description = "Output folder (new or empty)", Required = true };
        var images = new Option<int>("--images", "-n") { Description = "Number of images", Required = true };
        var seed = new Option<int>("--seed", "-s")
        {
            Description = $"Seed 0..{SyntheticOptions.MaxSeed}: fixes every byte; image ids start at seed * 1,000,000 + 1",
            Required = true,
        };
        var questionsPerImage = new Option<int>("--questions-per-image", "-k")
        {
            Description = $"Questions per image, 1..{SyntheticOptions.MaxQuestionsPerImage}",
            DefaultValueFactory = _ => defaults.QuestionsPerImage,
        };
        var imageSize = new Option<int>("--image-size")
        {
            Description = "Width and height in pixels (a multiple of 32 for --layout grid)",
            DefaultValueFactory = _ => defaults.ImageSize,
        };
        var minObjects = new Option<int>("--min-objects") { Description = "Fewest objects per scene", DefaultValueFactory = _ => defaults.MinObjects };
        var maxObjects = new Option<int>("--max-objects") { Description = "Most objects per scene", DefaultValueFactory = _ => defaults.MaxObjects };
        var layout = new Option<string>("--layout")
        {
            Description = "free: objects anywhere; grid: centred on cells aligned to 32-pixel patches (easier to learn)",
            DefaultValueFactory = _ => "free",
        }.AcceptOnlyFromAmong("free", "grid");
        var families = new Option<string[]>("--families")
        {
            Description = "Ask these question families, balanced: existence, counting, attribute, spatial (the default), " +
                          "and position (\"Where is the red circle?\", asked only when named: a training aid for spatial)",
            AllowMultipleArgumentsPerToken = true,
        };
        var scenes = new Option<bool>("--scenes") { Description = "Also write scenes.json (every object's shape, colour, size, position)" };
        var json = CommonOptions.Json();

        var command = new Command("synth",
            "Render synthetic scenes of circles, squares and triangles (6 colours, 2 sizes) and write them in the VQA v2 " +
            "layout: questions.json, annotations.json (ten simulated answers each) and images/COCO_synth{seed}_{id:012}.jpg. " +
            "Question families (existence, counting, attribute, spatial) are balanced, yes/no answers about 50/50; the same " +
            "seed gives the same bytes.\n\nExamples:\n" +
            "  vqa data synth --out data/synth-train --images 20000 --seed 1\n" +
            "  vqa data synth --out data/synth-val --images 2000 --seed 2 --questions-per-image 3\n" +
            "  vqa data synth -o data/grid --images 500 --seed 3 --layout grid --image-size 224 --max-objects 4 --scenes")
        {
            output, images, seed, questionsPerImage, imageSize, minObjects, maxObjects, layout, families, scenes, json,
        };

        console.SetAction(command, (parse, cancellationToken) =>
        {
            var options = new SyntheticOptions
            {
                Images = parse.GetValue(images),
                Seed = parse.GetValue(seed),
                QuestionsPerImage = parse.GetValue(questionsPerImage),
                ImageSize = parse.GetValue(imageSize),
                MinObjects = parse.GetValue(minObjects),
                MaxObjects = parse.GetValue(maxObjects),
                Layout = parse.GetRequiredValue(layout) == "grid" ? SceneLayout.Grid : SceneLayout.Free,
                WriteScenes = parse.GetValue(scenes),
                Families = ParseFamilies(parse.GetValue(families)),
            };
            var progress = console.Progress(parse, "data synth", "images", options.Images);
            var stats = new SyntheticSceneGenerator(options).Generate(parse.GetRequiredValue(output), cancellationToken,
                progress);
            progress.Finish();
            if (parse.GetValue(json)) console.WriteJson(ToJson(stats));
            else WriteSummary(console.Out, stats);
            return Task.FromResult(0);
        });
        return command;
    }

    private static IReadOnlyList<QuestionFamily>? ParseFamilies(string[]? names)
    {
        if (names is null || names.Length == 0) return null;
        return names.SelectMany(name => name.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(name => Enum.TryParse<QuestionFamily>(name, ignoreCase: true, out var family) && !int.TryParse(name, out _)
                ? family
                : throw new CliUsageException($"--families: '{name}' is not a question family (existence, counting, attribute, spatial, position)."))
            .ToList();
    }

    private static object ToJson(SyntheticDatasetStats stats) => new
    {
        outputFolder = stats.OutputFolder,
        images = stats.Images,
        questions = stats.Questions,
        questionsPerFamily = stats.QuestionsPerFamily.ToDictionary(f => Name(f.Key), f => f.Value),
        yesNoPerFamily = stats.YesNoPerFamily.ToDictionary(f => Name(f.Key), f => new { yes = f.Value.Yes, no = f.Value.No }),
        seconds = Math.Round(stats.Elapsed.TotalSeconds, 3),
    };

    private static void WriteSummary(TextWriter output, SyntheticDatasetStats stats)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {stats.Images} images and {stats.Questions} questions to {stats.OutputFolder} in {stats.Elapsed.TotalSeconds:0.0} s ({stats.ImagesPerSecond:0} images/s)"));
        output.WriteLine($"  {"family",-10} {"questions",9}  {"share",5}  yes/no");
        foreach (var (family, count) in stats.QuestionsPerFamily)
        {
            var yesNo = stats.YesNoPerFamily.TryGetValue(family, out var answers) ? $"{answers.Yes}/{answers.No}" : "-";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {Name(family),-10} {count,9}  {(double)count / Math.Max(stats.Questions, 1),5:P0}  {yesNo}"));
        }
    }

    private static string Name(QuestionFamily family) => family.ToString().ToLowerInvariant();

}
