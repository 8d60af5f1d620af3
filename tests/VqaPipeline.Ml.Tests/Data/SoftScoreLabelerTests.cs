using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;
using static VqaPipeline.Ml.Tests.Data.AnswerVocabularyTests;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>ViLT's get_score targets: 0/0.3/0.6/0.9/1.0 for 0/1/2/3/≥4 matching annotators; drops; as-given labels.</summary>
public sealed class SoftScoreLabelerTests
{
    private static readonly AnswerVocabulary Vocabulary = AnswerVocabulary.FromLabels(["yes", "no", "2", "dog"]);

    [Theory]
    [InlineData(0, 0f)]
    [InlineData(1, 0.3f)]
    [InlineData(2, 0.6f)]
    [InlineData(3, 0.9f)]
    [InlineData(4, 1f)]
    [InlineData(5, 1f)]
    [InlineData(6, 1f)]
    [InlineData(7, 1f)]
    [InlineData(8, 1f)]
    [InlineData(9, 1f)]
    [InlineData(10, 1f)]
    public void Score_of_k_matching_annotators_out_of_ten(int matching, float expected)
    {
        Assert.Equal(expected, SoftScoreLabeler.ScoreFor(matching));

        var answers = Enumerable.Repeat("yes", matching).Concat(Enumerable.Repeat("maybe", 10 - matching)).ToArray();
        var target = new SoftScoreLabeler(Vocabulary).Target(Example(1, answers));

        if (matching == 0)
            Assert.Null(target);
        else
        {
            Assert.Equal([0], target!.LabelIds);
            Assert.Equal([expected], target.Scores);
            Assert.Equal([expected, 0f, 0f, 0f], target.ToDense(Vocabulary.Count));
        }
    }

    [Fact]
    public void Answers_are_normalized_before_counting()
    {
        var target = new SoftScoreLabeler(Vocabulary).Target(Example(1, "Two", "2", "two.", "A dog", "dog", "Yes!", "cat"))!;

        Assert.Equal([2, 3, 0], target.LabelIds); // order of first appearance
        Assert.Equal([0.9f, 0.6f, 0.3f], target.Scores);
    }

    [Fact]
    public void Examples_without_an_answer_in_the_vocabulary_are_dropped_and_counted()
    {
        var labeler = new SoftScoreLabeler(Vocabulary);
        VqaExample[] examples = [Example(1, "yes"), Example(2, "cat", "mouse"), Example(3), Example(4, "no", "cat")];

        var labeled = labeler.Label(examples).ToList();

        Assert.Equal([1L, 4L], labeled.Select(l => l.Example.QuestionId));
        Assert.Equal(2, labeler.DroppedCount);
        Assert.Equal(2, labeler.Label(examples).Count()); // each pass counts afresh
        Assert.Equal(2, labeler.DroppedCount);
    }

    [Fact]
    public void As_given_keeps_the_given_weights_and_raw_texts()
    {
        var vocabulary = AnswerVocabulary.FromLabels(["at table", "down", "skateboard", "table", "Down"]);
        var graphcore = Example(262148000) with
        {
            GivenLabels = [new("at table", null, 0.3f), new("Down", null, 1f), new("skateboard", null, 0.3f), new("unknown", null, 0.6f)],
        };

        var target = new SoftScoreLabeler(vocabulary, LabelMode.AsGiven).Target(graphcore)!;

        Assert.Equal([0, 4, 2], target.LabelIds); // "Down" stays "Down"; labels outside the vocabulary are left out
        Assert.Equal([0.3f, 1f, 0.3f], target.Scores);
        Assert.Null(new SoftScoreLabeler(vocabulary).Target(graphcore)); // normalized mode reads human answers only
    }

    [Fact]
    public void As_given_numeric_ids_are_used_as_ids()
    {
        var example = Example(1) with { GivenLabels = [new(null, 3, 0.9f), new(null, 99, 1f)] };

        var target = new SoftScoreLabeler(Vocabulary, LabelMode.AsGiven).Target(example)!;

        Assert.Equal([3], target.LabelIds);
        Assert.Equal([0.9f], target.Scores);
    }

    [Fact]
    public void As_given_without_given_labels_scores_raw_answers()
    {
        var target = new SoftScoreLabeler(AnswerVocabulary.FromLabels(["Yes", "yes"]), LabelMode.AsGiven)
            .Target(Example(1, "Yes", "Yes", "yes"))!;

        Assert.Equal([0, 1], target.LabelIds);
        Assert.Equal([0.6f, 0.3f], target.Scores);
    }

    [Fact]
    public void Sample_annotations_give_official_style_targets()
    {
        var examples = VqaDataset.Open(DatasetFolder.SamplePath()).Read().ToList();
        var vocabulary = AnswerVocabulary.Load(DatasetFolder.SamplePath("answer_vocab_3129.json"));
        var labeler = new SoftScoreLabeler(vocabulary);

        foreach (var (example, target) in labeler.Label(examples))
            for (var i = 0; i < target.LabelIds.Count; i++)
            {
                var answer = vocabulary.Id2Label[target.LabelIds[i]];
                var annotators = example.Answers.Count(a => Ml.Evaluation.VqaAnswerNormalizer.Normalize(a.Answer) == answer);
                Assert.Equal(SoftScoreLabeler.ScoreFor(annotators), target.Scores[i]);
            }
        Assert.Equal(examples.Count, labeler.Label(examples).Count() + labeler.DroppedCount);
    }
}
