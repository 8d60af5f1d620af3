using System.Globalization;
using SkiaSharp;

namespace VqaPipeline.Benchmarks;

/// <summary>
/// Draws a scale run's timeline as a PNG: messages waiting per queue (top) and each stage's progress in images
/// (bottom), on one time axis.
/// </summary>
internal static class TimelineChart
{
    private const int Width = 1400;
    private const int PanelHeight = 360;
    private const int Left = 80, Right = 330, Top = 40, Gap = 70, Bottom = 50;

    private static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
    ];

    /// <summary>
    /// A system font read from its file: SkiaSharp's Linux build without fontconfig has no default typeface with glyphs,
    /// so text drawn with <see cref="SKTypeface.Default"/> comes out empty.
    /// </summary>
    private static readonly Lazy<SKTypeface> Typeface = new(() =>
    {
        var fonts = Directory.Exists("/usr/share/fonts")
            ? Directory.EnumerateFiles("/usr/share/fonts", "*.ttf", SearchOption.AllDirectories)
                .OrderBy(path => Path.GetFileName(path) == "DejaVuSans.ttf" ? 0 : 1).ThenBy(path => path, StringComparer.Ordinal)
            : Enumerable.Empty<string>();
        return fonts.Select(SKTypeface.FromFile).FirstOrDefault(typeface => typeface is not null) ?? SKTypeface.Default;
    });

    public static void Draw(IReadOnlyList<PipelineSample> samples, IReadOnlyList<string> queues, int images, string path)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Top + 2 * PanelHeight + Gap + Bottom));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var duration = Math.Max(1, samples.Count > 0 ? samples[^1].Seconds : 1);

        var queueSeries = queues.Select((queue, q) => (queue, samples.Select(s => (s.Seconds, (double)s.QueueDepths[q])).ToList()))
            .Where(series => series.Item2.Any(point => point.Item2 > 0)).ToList();
        DrawPanel(canvas, Top, "messages ready per queue", duration, queueSeries);

        var progress = new List<(string, List<(double, double)>)>
        {
            ("images registered", samples.Select(s => (s.Seconds, (double)s.ImagesRegistered)).ToList()),
            ("images ready or rejected", samples.Select(s => (s.Seconds, (double)s.ImagesFinal)).ToList()),
            ("images answered", samples.Select(s => (s.Seconds, (double)s.ImagesAnswered)).ToList()),
            ("answers indexed / answers per image", samples.Select(s => (s.Seconds, IndexedImages(s, samples))).ToList()),
        };
        DrawPanel(canvas, Top + PanelHeight + Gap, $"progress in images (of {images})", duration, progress);

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    /// <summary>Indexed answers expressed in images (answers per image from the finished run), so the lines share a scale.</summary>
    private static double IndexedImages(PipelineSample sample, IReadOnlyList<PipelineSample> samples)
    {
        var last = samples[^1];
        var answersPerImage = last.ImagesAnswered > 0 ? (double)last.AnswersIndexed / last.ImagesAnswered : 1;
        return answersPerImage > 0 ? sample.AnswersIndexed / answersPerImage : 0;
    }

    /// <summary>The smallest of 5, 10, 20, 50, 100, … at or above <paramref name="value"/>, so five ticks fall on whole numbers.</summary>
    private static double NiceCeiling(double value)
    {
        var ceiling = 5.0;
        while (ceiling < value)
            ceiling *= ceiling.ToString(CultureInfo.InvariantCulture)[0] == '2' ? 2.5 : 2;
        return ceiling;
    }

    private static void DrawPanel(SKCanvas canvas, int top, string title, double duration, IReadOnlyList<(string Name, List<(double X, double Y)> Points)> series)
    {
        var plotWidth = Width - Left - Right;
        var maxY = NiceCeiling(series.SelectMany(s => s.Points).Select(p => p.Y).DefaultIfEmpty(1).Max());
        using var font = new SKFont(Typeface.Value, 14);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f };
        canvas.DrawText(title, Left, top - 12, SKTextAlign.Left, font, text);
        float X(double seconds) => Left + (float)(seconds / duration * plotWidth);
        float Y(double value) => top + PanelHeight - (float)(value / maxY * PanelHeight);

        for (var tick = 0; tick <= 5; tick++)
        {
            var value = maxY * tick / 5;
            canvas.DrawLine(Left, Y(value), Left + plotWidth, Y(value), grid);
            canvas.DrawText(value.ToString("0", CultureInfo.InvariantCulture), Left - 8, Y(value) + 5, SKTextAlign.Right, font, text);
            var seconds = duration * tick / 5;
            canvas.DrawText($"{seconds:0} s", X(seconds), top + PanelHeight + 20, SKTextAlign.Center, font, text);
        }
        canvas.DrawLine(Left, top, Left, top + PanelHeight, axis);
        canvas.DrawLine(Left, top + PanelHeight, Left + plotWidth, top + PanelHeight, axis);

        for (var s = 0; s < series.Count; s++)
        {
            using var line = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            var points = series[s].Points;
            for (var p = 1; p < points.Count; p++)
                canvas.DrawLine(X(points[p - 1].X), Y(points[p - 1].Y), X(points[p].X), Y(points[p].Y), line);
            var legendY = top + 20 + s * 22;
            canvas.DrawLine(Left + plotWidth + 20, legendY - 5, Left + plotWidth + 50, legendY - 5, line);
            canvas.DrawText(series[s].Name, Left + plotWidth + 58, legendY, SKTextAlign.Left, font, text);
        }
    }
}
