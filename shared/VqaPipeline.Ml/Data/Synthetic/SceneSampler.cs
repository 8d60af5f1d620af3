namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>Draws random scenes: how many objects, what they look like, where they stand, and the background.</summary>
internal sealed class SceneSampler(SyntheticOptions options)
{
    public const int PatchSize = 32;

    /// <summary>Backgrounds keep at least this RGB distance from every object colour.</summary>
    public const double MinBackgroundDistance = 150;

    private const int MaxPlacementTries = 200;

    /// <summary>Square cells of whole patches, centred in the image, each wide enough for a large object.</summary>
    public sealed record Grid(int CellSize, int Columns, int Offset)
    {
        public int Cells => Columns * Columns;
    }

    public static int Extent(ObjectSize size, int imageSize) =>
        (int)Math.Round(imageSize * (size == ObjectSize.Large ? 0.18 : 0.10));

    /// <summary>Free space kept around objects and between an object and the image border.</summary>
    public static int Gap(int imageSize) => (int)Math.Round(imageSize * 0.03);

    public static Grid GridFor(int imageSize)
    {
        var patches = imageSize / PatchSize;
        var largeExtent = Extent(ObjectSize.Large, imageSize);
        var cellPatches = Math.Max(1, (int)Math.Ceiling(largeExtent / 0.85 / PatchSize));
        var columns = patches / cellPatches;
        return new Grid(cellPatches * PatchSize, columns, (patches - columns * cellPatches) / 2 * PatchSize);
    }

    public Scene Sample(SplitMix64 random, long imageId, string fileName)
    {
        var count = random.NextInt(options.MinObjects, options.MaxObjects);
        var looks = Enumerable.Range(0, count)
            .Select(_ => (Shape: random.Pick(SceneVocabulary.Shapes), Color: random.Pick(SceneVocabulary.Colors),
                Size: random.Pick(SceneVocabulary.Sizes)))
            .ToList();
        var objects = options.Layout == SceneLayout.Grid ? PlaceOnGrid(random, looks) : PlaceFreely(random, looks);
        return new Scene(imageId, fileName, options.ImageSize, options.ImageSize, SampleBackground(random), objects);
    }

    private List<SceneObject> PlaceOnGrid(SplitMix64 random, List<(ShapeKind Shape, ObjectColor Color, ObjectSize Size)> looks)
    {
        var grid = GridFor(options.ImageSize);
        var cells = Enumerable.Range(0, grid.Cells).ToList();
        random.Shuffle(cells);
        return looks.Select((look, i) =>
        {
            var (row, column) = Math.DivRem(cells[i], grid.Columns);
            return new SceneObject(look.Shape, look.Color, look.Size,
                grid.Offset + column * grid.CellSize + grid.CellSize / 2,
                grid.Offset + row * grid.CellSize + grid.CellSize / 2,
                Extent(look.Size, options.ImageSize));
        }).ToList();
    }

    /// <summary>Rejection sampling; on a crowded draw that leaves no room, starts the whole placement again.</summary>
    private List<SceneObject> PlaceFreely(SplitMix64 random, List<(ShapeKind Shape, ObjectColor Color, ObjectSize Size)> looks)
    {
        var size = options.ImageSize;
        var gap = Gap(size);
        while (true)
        {
            var placed = new List<SceneObject>();
            foreach (var look in looks)
            {
                var extent = Extent(look.Size, size);
                var low = gap + extent / 2;
                var high = size - gap - (extent - extent / 2);
                for (var attempt = 0; attempt < MaxPlacementTries; attempt++)
                {
                    var candidate = new SceneObject(look.Shape, look.Color, look.Size,
                        random.NextInt(low, high), random.NextInt(low, high), extent);
                    if (placed.Any(other => other.Crowds(candidate, gap))) continue;
                    placed.Add(candidate);
                    break;
                }
            }
            if (placed.Count == looks.Count) return placed;
        }
    }

    /// <summary>A pale, low-saturation colour (or a gentle gradient between two), never near an object colour.</summary>
    private static SceneBackground SampleBackground(SplitMix64 random)
    {
        var from = PaleColor(random, random.NextInt(360));
        if (random.Chance(0.5)) return new SceneBackground(from, from, 0);
        var to = PaleColor(random, random.NextInt(360));
        return new SceneBackground(from, to, random.NextInt(360));
    }

    private static Rgb PaleColor(SplitMix64 random, int hue)
    {
        while (true)
        {
            var color = FromHsl(hue, 0.10 + 0.25 * random.NextDouble(), 0.84 + 0.10 * random.NextDouble());
            if (SceneVocabulary.Colors.All(c => SceneVocabulary.Paint(c).DistanceTo(color) >= MinBackgroundDistance))
                return color;
        }
    }

    private static Rgb FromHsl(double hueDegrees, double saturation, double lightness)
    {
        var chroma = (1 - Math.Abs(2 * lightness - 1)) * saturation;
        var sector = hueDegrees / 60;
        var second = chroma * (1 - Math.Abs(sector % 2 - 1));
        var (r, g, b) = (int)sector switch
        {
            0 => (chroma, second, 0.0),
            1 => (second, chroma, 0.0),
            2 => (0.0, chroma, second),
            3 => (0.0, second, chroma),
            4 => (second, 0.0, chroma),
            _ => (chroma, 0.0, second),
        };
        var match = lightness - chroma / 2;
        return new Rgb(ToByte(r + match), ToByte(g + match), ToByte(b + match));
    }

    private static byte ToByte(double unit) => (byte)Math.Clamp((int)Math.Round(unit * 255), 0, 255);
}
