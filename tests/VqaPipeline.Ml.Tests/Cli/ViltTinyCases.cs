using System.Text.Json;

namespace VqaPipeline.Ml.Tests.Cli;

/// <summary>The single-image cases of vilt-tiny/expected/manifest.json, with what Python's pipeline answered.</summary>
internal static class ViltTinyCases
{
    public static IReadOnlyList<JsonElement> All =>
        [.. Fixtures.Manifest("vilt-tiny", "expected", "manifest.json").GetProperty("cases").EnumerateArray()];

    public static TheoryData<string> Names => new(All.Select(c => c.GetProperty("name").GetString()!));

    public static JsonElement Named(string name) => All.Single(c => c.GetProperty("name").GetString() == name);

    public static string ImagePath(JsonElement testCase) => Fixtures.PathOf(testCase.GetProperty("image").GetString()!);

    public static string Question(JsonElement testCase) => testCase.GetProperty("question").GetString()!;

    /// <summary>Python's <c>pipeline(image, question, top_k=5)</c> output: answers exactly, scores within the case's tolerance.</summary>
    public static void AssertPipelineAnswers(JsonElement testCase, JsonElement answers)
    {
        var expected = testCase.GetProperty("pipeline_top_k5").EnumerateArray().ToArray();
        var actual = answers.EnumerateArray().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(["answer", "score"], actual[i].EnumerateObject().Select(p => p.Name).Order());
            Assert.Equal(expected[i].GetProperty("answer").GetString(), actual[i].GetProperty("answer").GetString());
            Assert.Equal(expected[i].GetProperty("score").GetDouble(), actual[i].GetProperty("score").GetDouble(),
                Models.ViltFixture.Tolerance(testCase));
        }
    }
}
