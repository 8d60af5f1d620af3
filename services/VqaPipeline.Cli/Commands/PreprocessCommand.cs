using System.CommandLine;
using VqaPipeline.Ml.Checkpoints.Hub;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa preprocess IMAGE…</c>: what the model's image processor makes of images (sizes, mask, value range).</summary>
internal static class PreprocessCommand
{
    public static Command Create(CliConsole console)
    {
        var images = new Argument<string[]>("images") { Description = "Image paths, URLs or data: URIs", Arity = ArgumentArity.OneOrMore };
        var model = CommonOptions.Model();
        var json = CommonOptions.Json();
        var command = new Command("preprocess",
            "Load images and run the model's image processor (preprocessor_config.json), exactly as Python's ViltImageProcessor.\n\n" +
            "Example:\n  vqa preprocess cats.png rocket.jpg --model ./vilt-tiny")
        {
            images, model, json,
        };
        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var folder = await ModelResolver.ResolveAsync(parse.GetRequiredValue(model), console.Hub, cancellationToken);
            var processor = ViltImageProcessor.FromPretrained(folder);
            var sources = parse.GetRequiredValue(images);
            var loaded = new List<RgbImage>();
            foreach (var source in sources)
                loaded.Add(await ImageSource.LoadAsync(source, cancellationToken));
            var batch = processor.Preprocess(loaded);
            var rows = loaded.Select((image, i) => new
            {
                image = sources[i],
                sourceSize = new[] { image.Height, image.Width },
                resized = new[] { batch.ImageSizes[i].Height, batch.ImageSizes[i].Width },
            }).ToArray();
            if (parse.GetValue(json))
                console.WriteJson(new
                {
                    pixelValuesShape = new[] { batch.BatchSize, 3, batch.Height, batch.Width },
                    images = rows,
                    min = batch.PixelValues.Min(),
                    max = batch.PixelValues.Max(),
                });
            else
            {
                foreach (var row in rows)
                    console.Out.WriteLine($"{row.image}: {row.sourceSize[0]}x{row.sourceSize[1]} -> {row.resized[0]}x{row.resized[1]}");
                console.Out.WriteLine($"pixel_values  [{batch.BatchSize}, 3, {batch.Height}, {batch.Width}]");
            }
            return 0;
        });
        return command;
    }
}
