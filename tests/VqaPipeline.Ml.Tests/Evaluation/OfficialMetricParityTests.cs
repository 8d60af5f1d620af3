using System.Text.Json;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Evaluation;

/// <summary>
/// Every evaluation of <c>Official/official-metric-cases.json</c> scores exactly as the official code computed it:
/// GT-Vision-Lab/VQA's vqaEval.py at a013f00 run on Python 2.7 (<c>official</c>) and its 2017 rules in the
/// repository's Python 3 port run on Python 3.12 (<c>official-2017</c>). <c>make_official_cases.py</c> made the file.
/// </summary>
public class OfficialMetricParityTests
{
    private static Lazy<JsonElement> Cases => OfficialMetricCases.File;

    public static TheoryData<string, string> Evaluations()
    {
        var data = new TheoryData<string, string>();
        foreach (var metric in new[] { "official", "official-2017" })
        foreach (var evaluation in Cases.Value.GetProperty("evaluations").EnumerateArray())
            data.Add(metric, evaluation.GetProperty("name").GetString()!);
        return data;
    }

    [Fact]
    public void The_cases_come_from_the_two_official_commits_on_their_interpreters()
    {
        var versions = Cases.Value.GetProperty("produced_by").GetProperty("versions");
        Assert.StartsWith("a013f00", versions.GetProperty("official").GetProperty("commit").GetString());
        Assert.StartsWith("2.7.", versions.GetProperty("official").GetProperty("python").GetString());
        Assert.StartsWith("3.12.", versions.GetProperty("official-2017").GetProperty("python").GetString());
        Assert.True(Evaluations().Count >= 20);
    }

    [Theory]
    [MemberData(nameof(Evaluations))]
    public void Scores_equal_what_the_official_code_computed(string metric, string name)
    {
        var evaluation = OfficialMetricCases.Evaluation(name);
        var expected = Cases.Value.GetProperty("expected").GetProperty(metric).GetProperty(name);
        var annotations = evaluation.GetProperty("annotations").EnumerateArray().Select(OfficialMetricCases.ReadAnnotation).ToList();
        var predictions = evaluation.GetProperty("results").EnumerateArray()
            .Select(r => new VqaPrediction(r.GetProperty("question_id").GetInt64(), r.GetProperty("answer").GetString()!)).ToList();
        var notes = evaluation.GetProperty("annotations").EnumerateArray().ToDictionary(
            a => a.GetProperty("question_id").GetInt64(),
            a => a.TryGetProperty("note", out var note) ? note.GetString()! : $"question {a.GetProperty("question_id").GetInt64()}");

        var score = VqaAccuracy.Score(annotations, predictions, metric == "official" ? VqaMetric.Official : VqaMetric.Official2017);

        var wrong = expected.GetProperty("perQuestion").EnumerateObject()
            .Where(q => score.PerQuestion[long.Parse(q.Name)] != q.Value.GetDouble())
            .Select(q => $"{notes[long.Parse(q.Name)]}: {score.PerQuestion[long.Parse(q.Name)]}, official {q.Value.GetDouble()}")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.Equal(expected.GetProperty("overall").GetDouble(), score.Overall);
        Assert.Equal(ReadTypes(expected.GetProperty("perQuestionType")), score.PerQuestionType.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(ReadTypes(expected.GetProperty("perAnswerType")), score.PerAnswerType.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    private static IEnumerable<KeyValuePair<string, double>> ReadTypes(JsonElement types) =>
        types.EnumerateObject().Select(t => KeyValuePair.Create(t.Name, t.Value.GetDouble())).OrderBy(p => p.Key, StringComparer.Ordinal);
}

/// <summary>The evaluations of <c>Official/official-metric-cases.json</c>, test data kept in the repository.</summary>
internal static class OfficialMetricCases
{
    public static readonly Lazy<JsonElement> File = new(() =>
    {
        var path = Path.Combine(Fixtures.RepositoryRoot, "tests", "VqaPipeline.Ml.Tests", "Evaluation", "Official", "official-metric-cases.json");
        return JsonDocument.Parse(System.IO.File.ReadAllText(path)).RootElement.Clone();
    });

    public static JsonElement Evaluation(string name) =>
        File.Value.GetProperty("evaluations").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);

    /// <summary>The three real VQA v2 questions of the sample, in the official annotations layout.</summary>
    public static JsonElement RealSampleAnnotations => Evaluation("vqa-v2-sample 1").GetProperty("annotations");

    public static VqaAnnotation ReadAnnotation(JsonElement annotation) => new(
        annotation.GetProperty("question_id").GetInt64(),
        annotation.GetProperty("question_type").GetString()!,
        annotation.GetProperty("answer_type").GetString()!,
        annotation.GetProperty("answers").EnumerateArray().Select(answer => new VqaHumanAnswer(
            answer.GetProperty("answer").GetString()!,
            answer.TryGetProperty("answer_confidence", out var confidence) ? confidence.GetString() : null,
            answer.TryGetProperty("answer_id", out var id) ? id.GetInt64() : null)).ToList());
}
