namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>The shapes a scene draws.</summary>
internal enum ShapeKind { Circle, Square, Triangle }

/// <summary>The object colours: saturated and far apart from each other and from every background.</summary>
internal enum ObjectColor { Red, Green, Blue, Yellow, Purple, Orange }

/// <summary>The two object sizes; a large object's extent is nearly twice a small one's.</summary>
internal enum ObjectSize { Small, Large }

/// <summary>An 8-bit RGB colour.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    public double DistanceTo(Rgb other) =>
        Math.Sqrt(Square(R - other.R) + Square(G - other.G) + Square(B - other.B));

    private static double Square(int value) => (double)value * value;
}

/// <summary>The words of questions and answers, and the colours objects are painted with.</summary>
internal static class SceneVocabulary
{
    public static IReadOnlyList<ShapeKind> Shapes { get; } = Enum.GetValues<ShapeKind>();

    public static IReadOnlyList<ObjectColor> Colors { get; } = Enum.GetValues<ObjectColor>();

    public static IReadOnlyList<ObjectSize> Sizes { get; } = Enum.GetValues<ObjectSize>();

    public static Rgb Paint(ObjectColor color) => color switch
    {
        ObjectColor.Red => new Rgb(220, 30, 30),
        ObjectColor.Green => new Rgb(30, 160, 50),
        ObjectColor.Blue => new Rgb(30, 70, 220),
        ObjectColor.Yellow => new Rgb(245, 215, 20),
        ObjectColor.Purple => new Rgb(140, 50, 190),
        ObjectColor.Orange => new Rgb(255, 130, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(color), color, null),
    };

    public static string Word(ShapeKind shape) => shape.ToString().ToLowerInvariant();

    public static string Word(ObjectColor color) => color.ToString().ToLowerInvariant();

    public static string Word(ObjectSize size) => size.ToString().ToLowerInvariant();

    public static string Plural(ShapeKind shape) => Word(shape) + "s";

    /// <summary>"a" or "an", whichever the next word takes ("an orange circle").</summary>
    public static string Article(string nextWord) => "aeiou".Contains(nextWord[0]) ? "an" : "a";
}
