namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>
/// One drawn object. Its bounding box is the square of side <see cref="Extent"/> centred on (CenterX, CenterY), in
/// pixels from the top-left corner; circles and squares fill that box, triangles point up inside it.
/// </summary>
internal sealed record SceneObject(ShapeKind Shape, ObjectColor Color, ObjectSize Size, int CenterX, int CenterY, int Extent)
{
    public int Left => CenterX - Extent / 2;

    public int Top => CenterY - Extent / 2;

    public int Right => Left + Extent;

    public int Bottom => Top + Extent;

    /// <summary>Whether the two bounding boxes come closer than <paramref name="gap"/> pixels on both axes.</summary>
    public bool Crowds(SceneObject other, int gap) =>
        Left < other.Right + gap && other.Left < Right + gap && Top < other.Bottom + gap && other.Top < Bottom + gap;
}

/// <summary>
/// A background: a linear gradient from <paramref name="From"/> to <paramref name="To"/> along
/// <paramref name="AngleDegrees"/> (0 = left to right, 90 = top to bottom); solid when both colours are equal.
/// </summary>
internal sealed record SceneBackground(Rgb From, Rgb To, int AngleDegrees)
{
    public bool IsSolid => From == To;
}

/// <summary>Everything an image shows: what it is rendered from, and what every answer about it is derived from.</summary>
internal sealed record Scene(long ImageId, string FileName, int Width, int Height, SceneBackground Background,
    IReadOnlyList<SceneObject> Objects);
