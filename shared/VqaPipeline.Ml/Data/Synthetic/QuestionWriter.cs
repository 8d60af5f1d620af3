using System.Globalization;
using static VqaPipeline.Ml.Data.Synthetic.SceneVocabulary;

namespace VqaPipeline.Ml.Data.Synthetic;

/// <summary>
/// Asks questions about scenes, keeping the whole dataset balanced so that no prior can stand in for looking: each
/// question goes to the family asked least so far (among those the scene allows); within it a phrasing is drawn (so
/// phrasings with few questions are not crowded out), and then, among that phrasing's questions, one whose answer the
/// family has given least often (so yes/no comes out about 50/50 and counts are not mostly "1").
/// Only objects that the question's words pick out uniquely are asked about.
/// </summary>
internal sealed class QuestionWriter(int imageSize, IReadOnlyList<QuestionFamily>? families = null)
{
    private readonly QuestionFamily[] _families = (families ?? SyntheticOptions.DefaultFamilies).Distinct().Order().ToArray();

    private static readonly string[] YesNoWords = ["yes", "no"];
    private static readonly string[] Numbers = Enumerable.Range(0, SyntheticOptions.MaxObjectsPerScene + 1).Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();

    private readonly Dictionary<QuestionFamily, int> _asked = Enum.GetValues<QuestionFamily>().ToDictionary(f => f, _ => 0);
    private readonly Dictionary<(QuestionFamily, string), int> _answers = new();

    /// <summary>A relation holds only when the centres differ by this much along its axis; closer pairs are not asked.</summary>
    private readonly int _clearMargin = (int)Math.Round(imageSize * 0.05);

    private enum Relation { LeftOf, RightOf, Above, Below }

    private sealed record Phrasing(string QuestionType, List<(string Text, string Answer, IReadOnlyList<string> Alternatives)> Questions);

    public List<SceneQuestion> Ask(Scene scene, SplitMix64 random, int count)
    {
        var asked = new List<SceneQuestion>();
        while (asked.Count < count)
        {
            var next = FamiliesLeastAskedFirst(random)
                .Select(family => TryAsk(family, scene, random, asked))
                .FirstOrDefault(question => question is not null);
            if (next is null) break;
            asked.Add(next);
            Count(next);
        }
        return asked;
    }

    private List<QuestionFamily> FamiliesLeastAskedFirst(SplitMix64 random)
    {
        var families = _families.ToList();
        random.Shuffle(families);
        return families.OrderBy(family => _asked[family]).ToList();
    }

    private SceneQuestion? TryAsk(QuestionFamily family, Scene scene, SplitMix64 random, List<SceneQuestion> asked)
    {
        var phrasings = Phrasings(family, scene)
            .Select(p => p with { Questions = p.Questions.Where(q => asked.All(a => a.Text != q.Text)).ToList() })
            .Where(p => p.Questions.Count > 0)
            .ToList();
        if (phrasings.Count == 0) return null;
        var phrasing = random.Pick(phrasings);
        var rarest = phrasing.Questions.Min(q => Given(family, q.Answer));
        var (text, answer, alternatives) = random.Pick(phrasing.Questions.Where(q => Given(family, q.Answer) == rarest).ToList());
        return new SceneQuestion(family, phrasing.QuestionType, text, answer, alternatives);
    }

    private int Given(QuestionFamily family, string answer) => _answers.GetValueOrDefault((family, answer));

    private void Count(SceneQuestion question)
    {
        _asked[question.Family]++;
        _answers[(question.Family, question.Answer)] = Given(question.Family, question.Answer) + 1;
    }

    private IEnumerable<Phrasing> Phrasings(QuestionFamily family, Scene scene) => family switch
    {
        QuestionFamily.Existence => Existence(scene.Objects),
        QuestionFamily.Counting => Counting(scene.Objects),
        QuestionFamily.Attribute => Attribute(scene.Objects),
        QuestionFamily.Position => Position(scene.Objects),
        _ => Spatial(scene.Objects),
    };

    private static IEnumerable<Phrasing> Existence(IReadOnlyList<SceneObject> objects)
    {
        const string type = "is there a";
        yield return new Phrasing(type, (
            from color in Colors
            from shape in Shapes
            let description = $"{Word(color)} {Word(shape)}"
            select YesNo($"Is there {Article(description)} {description}?",
                objects.Any(o => o.Color == color && o.Shape == shape))).ToList());
        yield return new Phrasing(type, Shapes
            .Select(shape => YesNo($"Is there {Article(Word(shape))} {Word(shape)}?", objects.Any(o => o.Shape == shape)))
            .ToList());
        yield return new Phrasing(type, Colors
            .Select(color => YesNo($"Is there {Article(Word(color))} {Word(color)} object?", objects.Any(o => o.Color == color)))
            .ToList());
    }

    /// <summary>Counts of everything, of each shape and of each colour, and of the colour-shape pairs present (zero for
    /// an absent pair would be the usual answer and teach little).</summary>
    private static IEnumerable<Phrasing> Counting(IReadOnlyList<SceneObject> objects)
    {
        const string type = "how many";
        yield return new Phrasing(type, [Number("How many objects are there?", objects.Count)]);
        yield return new Phrasing(type, Shapes
            .Select(shape => Number($"How many {Plural(shape)} are there?", objects.Count(o => o.Shape == shape)))
            .ToList());
        yield return new Phrasing(type, Colors
            .Select(color => Number($"How many {Word(color)} objects are there?", objects.Count(o => o.Color == color)))
            .ToList());
        yield return new Phrasing(type, objects
            .Select(o => (o.Color, o.Shape)).Distinct()
            .Select(look => Number($"How many {Word(look.Color)} {Plural(look.Shape)} are there?",
                objects.Count(o => o.Color == look.Color && o.Shape == look.Shape)))
            .ToList());
    }

    private static IEnumerable<Phrasing> Attribute(IReadOnlyList<SceneObject> objects)
    {
        var colorWords = Colors.Select(Word).ToArray();
        var shapeWords = Shapes.Select(Word).ToArray();
        var sizeWords = Sizes.Select(Word).ToArray();
        yield return new Phrasing("what color is the", objects
            .Select(o => (Object: o, Referent: Unique(objects, o, x => x.Shape) ? Word(o.Shape)
                : Unique(objects, o, x => (x.Size, x.Shape)) ? $"{Word(o.Size)} {Word(o.Shape)}" : null))
            .Where(r => r.Referent is not null)
            .Select(r => ($"What color is the {r.Referent}?", Word(r.Object.Color), (IReadOnlyList<string>)colorWords))
            .ToList());
        yield return new Phrasing("what shape is the", objects
            .Select(o => (Object: o, Referent: Unique(objects, o, x => x.Color) ? Word(o.Color)
                : Unique(objects, o, x => (x.Size, x.Color)) ? $"{Word(o.Size)} {Word(o.Color)}" : null))
            .Where(r => r.Referent is not null)
            .Select(r => ($"What shape is the {r.Referent} object?", Word(r.Object.Shape), (IReadOnlyList<string>)shapeWords))
            .ToList());
        yield return new Phrasing("what size is the", objects
            .Where(o => Unique(objects, o, x => (x.Color, x.Shape)))
            .Select(o => ($"What size is the {Word(o.Color)} {Word(o.Shape)}?", Word(o.Size), (IReadOnlyList<string>)sizeWords))
            .ToList());
    }

    private IEnumerable<Phrasing> Position(IReadOnlyList<SceneObject> objects)
    {
        yield return new Phrasing("where is the", objects
            .Where(o => Unique(objects, o, x => (x.Color, x.Shape)))
            .Select(o => ($"Where is the {Word(o.Color)} {Word(o.Shape)}?", Place(o), (IReadOnlyList<string>)Places))
            .ToList());
    }

    private static readonly string[] Places =
        ["top left", "top", "top right", "left", "middle", "right", "bottom left", "bottom", "bottom right"];

    /// <summary>The third of the image, across and down, that the object's centre is in.</summary>
    private string Place(SceneObject item)
    {
        var column = Math.Clamp(item.CenterX * 3 / imageSize, 0, 2);
        var row = Math.Clamp(item.CenterY * 3 / imageSize, 0, 2);
        return Places[row * 3 + column];
    }

    private IEnumerable<Phrasing> Spatial(IReadOnlyList<SceneObject> objects)
    {
        var named = objects.Where(o => Unique(objects, o, x => (x.Color, x.Shape))).ToList();
        var questions =
            from first in named
            from second in named
            where !ReferenceEquals(first, second)
            from relation in Enum.GetValues<Relation>()
            let holds = Holds(first, relation, second)
            where holds || Holds(first, Opposite(relation), second)
            select YesNo($"Is the {Word(first.Color)} {Word(first.Shape)} {Words(relation)} the {Word(second.Color)} {Word(second.Shape)}?", holds);
        yield return new Phrasing("is the", questions.ToList());
    }

    private bool Holds(SceneObject first, Relation relation, SceneObject second) => relation switch
    {
        Relation.LeftOf => second.CenterX - first.CenterX >= _clearMargin,
        Relation.RightOf => first.CenterX - second.CenterX >= _clearMargin,
        Relation.Above => second.CenterY - first.CenterY >= _clearMargin,
        _ => first.CenterY - second.CenterY >= _clearMargin,
    };

    private static Relation Opposite(Relation relation) => relation switch
    {
        Relation.LeftOf => Relation.RightOf,
        Relation.RightOf => Relation.LeftOf,
        Relation.Above => Relation.Below,
        _ => Relation.Above,
    };

    private static string Words(Relation relation) => relation switch
    {
        Relation.LeftOf => "left of",
        Relation.RightOf => "right of",
        Relation.Above => "above",
        _ => "below",
    };

    private static bool Unique<TKey>(IReadOnlyList<SceneObject> objects, SceneObject target, Func<SceneObject, TKey> key) =>
        objects.Count(o => EqualityComparer<TKey>.Default.Equals(key(o), key(target))) == 1;

    private static (string, string, IReadOnlyList<string>) YesNo(string text, bool truth) =>
        (text, truth ? "yes" : "no", YesNoWords);

    private static (string, string, IReadOnlyList<string>) Number(string text, int count) =>
        (text, Numbers[count], new[] { count - 1, count + 1 }.Where(n => n >= 0 && n < Numbers.Length).Select(n => Numbers[n]).ToArray());
}
