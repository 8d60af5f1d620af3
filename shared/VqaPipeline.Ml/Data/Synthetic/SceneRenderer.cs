using SkiaSharp;

namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>Draws a <see cref="Scene"/> with SkiaSharp (anti-aliased) and encodes it as JPEG.</summary>
internal static class SceneRenderer
{
    public const int JpegQuality = 95;

    public static byte[] RenderJpeg(Scene scene)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(scene.Width, scene.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            PaintBackground(canvas, scene);
            using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
            foreach (var item in scene.Objects) Draw(canvas, paint, item);
        }
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, JpegQuality)
                            ?? throw new InvalidOperationException("SkiaSharp could not encode the scene as JPEG.");
        return encoded.ToArray();
    }

    private static void PaintBackground(SKCanvas canvas, Scene scene)
    {
        var background = scene.Background;
        if (background.IsSolid)
        {
            canvas.Clear(ToSkia(background.From));
            return;
        }
        // The gradient line runs through the centre, long enough that the two far corners get the two end colours.
        var angle = background.AngleDegrees * Math.PI / 180;
        var (dx, dy) = (Math.Cos(angle), Math.Sin(angle));
        var halfLength = (Math.Abs(dx) * scene.Width + Math.Abs(dy) * scene.Height) / 2;
        var center = new SKPoint(scene.Width / 2f, scene.Height / 2f);
        var offset = new SKPoint((float)(dx * halfLength), (float)(dy * halfLength));
        using var shader = SKShader.CreateLinearGradient(center - offset, center + offset,
            [ToSkia(background.From), ToSkia(background.To)], SKShaderTileMode.Clamp);
        using var paint = new SKPaint { Shader = shader };
        canvas.DrawRect(0, 0, scene.Width, scene.Height, paint);
    }

    private static void Draw(SKCanvas canvas, SKPaint paint, SceneObject item)
    {
        paint.Color = ToSkia(SceneVocabulary.Paint(item.Color));
        switch (item.Shape)
        {
            case ShapeKind.Circle:
                canvas.DrawOval(SKRect.Create(item.Left, item.Top, item.Extent, item.Extent), paint);
                break;
            case ShapeKind.Square:
                canvas.DrawRect(item.Left, item.Top, item.Extent, item.Extent, paint);
                break;
            case ShapeKind.Triangle:
                using (var builder = new SKPathBuilder())
                {
                    builder.MoveTo(item.Left + item.Extent / 2f, item.Top);
                    builder.LineTo(item.Right, item.Bottom);
                    builder.LineTo(item.Left, item.Bottom);
                    builder.Close();
                    using var path = builder.Detach();
                    canvas.DrawPath(path, paint);
                }
                break;
        }
    }

    private static SKColor ToSkia(Rgb color) => new(color.R, color.G, color.B);
}
