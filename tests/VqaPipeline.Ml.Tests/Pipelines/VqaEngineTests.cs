using System.Text.Json;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;
using VqaPipeline.Ml.Tests.Models;

namespace VqaPipeline.Ml.Tests.Pipelines;

/// <summary>The engine API against Python's <c>pipeline("visual-question-answering")</c> on the fixture model.</summary>
public sealed class VqaEngineTests : IClassFixture<VqaEngineTests.LoadedPipeline>
{
    private readonly VqaEngine pipeline;

    public VqaEngineTests(LoadedPipeline loaded) => pipeline = loaded.Engine;

    public sealed class LoadedPipeline : IDisposable
    {
        public VqaEngine Engine { get; } = VqaEngine.FromPretrained(ViltFixture.ModelFolder);
        public void Dispose() => Engine.Dispose();
    }

    public static IEnumerable<object[]> PipelineCases() =>
        ViltFixture.AllCases(ViltFixture.Manifest)
            .Where(c => c.Entry.TryGetProperty("pipeline_top_k5", out _))
            .Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(PipelineCases))]
    public void Answers_and_scores_equal_the_python_pipeline(string caseName)
    {
        var testCase = ViltFixture.Case(caseName);
        var expected = testCase.Entry.GetProperty("pipeline_top_k5").EnumerateArray()
            .Select(e => (Answer: e.GetProperty("answer").GetString()!, Score: e.GetProperty("score").GetDouble()))
            .ToArray();

        var result = pipeline.Ask(Load(testCase.Images[0]), testCase.Questions[0], topK: expected.Length);

        Assert.Equal(expected.Select(e => e.Answer), result.Answers.Select(a => a.Answer));
        // Scores are sigmoids of the logits, whose slope is at most 1/4: the logits' tolerance bounds them too.
        var tolerance = ViltFixture.Tolerance(testCase);
        foreach (var (want, got) in expected.Zip(result.Answers))
            Assert.True(Math.Abs(want.Score - got.Score) <= tolerance, $"{want.Answer}: {got.Score} vs {want.Score}");
        Assert.False(result.QuestionTruncated);
    }

    [Fact]
    public void Scores_are_sigmoids_of_the_fixture_logits_in_descending_order()
    {
        var testCase = ViltFixture.AllCases(ViltFixture.Manifest).First(c => c.Entry.TryGetProperty("pipeline_logits_unpadded", out _));
        var logits = testCase.Entry.GetProperty("pipeline_logits_unpadded").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var result = pipeline.Ask(Load(testCase.Images[0]), testCase.Questions[0], topK: pipeline.Labels.Count);

        Assert.Equal(pipeline.Labels.Count, result.Answers.Count);
        var expected = logits.Select((logit, i) => (Label: pipeline.Labels[i], Score: 1 / (1 + Math.Exp(-logit))))
            .OrderByDescending(x => x.Score).ToArray();
        foreach (var (want, got) in expected.Zip(result.Answers))
        {
            Assert.Equal(want.Label, got.Answer);
            Assert.True(Math.Abs(want.Score - got.Score) <= ViltFixture.Tolerance(testCase));
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(3)]
    public void Mixed_sizes_and_lengths_in_one_batch_answer_like_one_by_one(int batchSize)
    {
        var queries = AllFixtureQueries();
        using var batched = VqaEngine.FromPretrained(ViltFixture.ModelFolder, new VqaEngineOptions { BatchSize = batchSize });

        var together = batched.Ask(queries, topK: 5);
        var alone = queries.Select(q => pipeline.Ask(q.Image, q.Question, topK: 5)).ToArray();

        Assert.Equal(queries.Count, together.Count);
        for (var i = 0; i < queries.Count; i++)
            AssertSameAnswers(alone[i], together[i]);
    }

    [Fact]
    public void One_image_many_questions_and_many_images_one_question_broadcast()
    {
        var queries = AllFixtureQueries();
        var image = queries[0].Image;
        var questions = queries.Select(q => q.Question).Distinct().ToArray();
        var perQuestion = pipeline.Ask(image, questions);
        for (var i = 0; i < questions.Length; i++)
            AssertSameAnswers(pipeline.Ask(image, questions[i]), perQuestion[i]);

        var images = queries.Select(q => q.Image).ToArray();
        var perImage = pipeline.Ask(images, questions[0]);
        for (var i = 0; i < images.Length; i++)
            AssertSameAnswers(pipeline.Ask(images[i], questions[0]), perImage[i]);
    }

    [Fact]
    public void A_question_longer_than_the_text_positions_is_truncated_and_says_so()
    {
        var longQuestion = string.Join(' ', Enumerable.Repeat("is there a small red cube left of the big blue sphere", 10)) + "?";
        var result = pipeline.Ask(AllFixtureQueries()[0].Image, longQuestion);
        Assert.True(result.QuestionTruncated);
        Assert.Equal(5, result.Answers.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_question_is_refused(string question)
    {
        var error = Assert.Throws<InvalidQuestionException>(() => pipeline.Ask(AllFixtureQueries()[0].Image, question));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void Top_k_beyond_the_vocabulary_returns_every_answer_once()
    {
        var result = pipeline.Ask(AllFixtureQueries()[0].Image, "What is this?", topK: 10_000);
        Assert.Equal(pipeline.Labels.Count, result.Answers.Count);
        Assert.Equal(pipeline.Labels.Count, result.Answers.Select(a => a.Answer).Distinct().Count());
    }

    [Fact]
    public async Task AskAsync_loads_the_image_from_a_path()
    {
        var testCase = ViltFixture.AllCases(ViltFixture.Manifest).First();
        var fromPath = await pipeline.AskAsync(Fixtures.PathOf(testCase.Images[0]), testCase.Questions[0]);
        AssertSameAnswers(pipeline.Ask(Load(testCase.Images[0]), testCase.Questions[0]), fromPath);
    }

    private static void AssertSameAnswers(VqaResult expected, VqaResult actual)
    {
        Assert.Equal(expected.Question, actual.Question);
        Assert.Equal(expected.QuestionTruncated, actual.QuestionTruncated);
        Assert.Equal(expected.Answers.Select(a => a.Answer), actual.Answers.Select(a => a.Answer));
        foreach (var (want, got) in expected.Answers.Zip(actual.Answers))
            Assert.True(Math.Abs(want.Score - got.Score) <= 1e-5, $"{want.Answer}: {got.Score} vs {want.Score}");
    }

    private static List<VqaQuery> AllFixtureQueries() =>
        ViltFixture.AllCases(ViltFixture.Manifest)
            .SelectMany(c => c.Images.Zip(c.Questions, (image, question) => new VqaQuery(Load(image), question)))
            .ToList();

    private static RgbImage Load(string relativePath) => new ImageLoader().LoadFile(Fixtures.PathOf(relativePath));

}
