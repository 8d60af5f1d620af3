using System.Text.Json;
using VqaPipeline.Ml.Data;
using VqaPipeline.Ml.Data.Labels;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Tests.Data;

/// <summary>Building (counting, order, limits), loading every vocabulary file shape, saving.</summary>
public sealed class AnswerVocabularyTests : IDisposable
{
    private readonly DatasetFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    internal static VqaExample Example(long id, params string[] answers) => new()
    {
        QuestionId = id,
        Image = ImageReference.File("unused.jpg"),
        Question = "q",
        Answers = answers.Select(a => new HumanAnswer(a)).ToList(),
    };

    // Each question counts once, by its majority normalized answer (ViLT counts VQA v2's multiple_choice_answer).
    private static readonly VqaExample[] Examples =
    [
        Example(1, "Two", "2", "two", "yes", "Yes"), // normalized: 2 ×3, yes ×2 → "2"
        Example(2, "no", "no", "yes", "b", "a dog"), // → "no"
        Example(3, "a dog", "dog", "c"),             // "a dog" → "dog" ×2 → "dog"
        Example(4, "2", "two", "no"),                // → "2"
        Example(5, "yes", "Yes", "no"),              // → "yes"
        Example(6),
    ];

    [Fact]
    public void Counts_each_questions_majority_answer_most_frequent_first_ties_ordinal()
    {
        var counts = AnswerCounts.Count(Examples);

        Assert.Equal([("2", 2), ("dog", 1), ("no", 1), ("yes", 1)], counts.ByFrequency);
        Assert.Equal((6, 5, 5), (counts.Examples, counts.ExamplesWithAnswers, counts.TotalAnswers));
        Assert.Equal(counts.ByFrequency.Select(e => e.Answer), AnswerVocabulary.Build(Examples).Id2Label);
    }

    [Fact]
    public void A_tied_majority_goes_to_the_ordinally_smallest_answer()
    {
        var counts = AnswerCounts.Count([Example(7, "dog", "cat", "Dog", "cat")]);

        Assert.Equal([("cat", 1)], counts.ByFrequency);
    }

    [Fact]
    public void Normalization_is_the_official_evaluators()
    {
        var vocabulary = AnswerVocabulary.Build(Examples);

        Assert.All(vocabulary.Id2Label, label => Assert.Equal(VqaAnswerNormalizer.Normalize(label), label));
        Assert.Contains("2", vocabulary.Id2Label);
        Assert.DoesNotContain("Two", vocabulary.Id2Label);
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 1)]
    [InlineData(3, 0)]
    public void Min_answer_count_keeps_answers_given_that_often(int minimum, int kept)
    {
        var vocabulary = AnswerVocabulary.Build(Examples, new VocabularyOptions { MinAnswerCount = minimum });

        Assert.Equal(kept, vocabulary.Count);
        Assert.Equal(AnswerCounts.Count(Examples).ByFrequency.Take(kept).Select(e => e.Answer), vocabulary.Id2Label);
    }

    [Fact]
    public void Max_answers_keeps_the_most_frequent()
    {
        var vocabulary = AnswerVocabulary.Build(Examples, new VocabularyOptions { MaxAnswers = 2 });

        Assert.Equal(["2", "dog"], vocabulary.Id2Label);
        Assert.Equal(1, vocabulary.Label2Id["dog"]);
    }

    [Fact]
    public void As_given_mode_counts_label_texts_verbatim()
    {
        var graphcore = Example(5) with { GivenLabels = [new("Down", null, 1f), new("at table", null, 0.3f)] };

        var vocabulary = AnswerVocabulary.Build([graphcore, Example(6, "Down", "Two")], new VocabularyOptions { Mode = LabelMode.AsGiven });

        Assert.Equal(["Down", "Two", "at table"], vocabulary.Id2Label);
    }

    [Fact]
    public void As_given_numeric_ids_without_names_ask_for_id2label()
    {
        var unnamed = Example(5) with { GivenLabels = [new(null, 3, 1f)] };

        var error = Assert.Throws<VqaDataException>(() => AnswerVocabulary.Build([unnamed], new VocabularyOptions { Mode = LabelMode.AsGiven }));

        Assert.Contains("id2label", error.Message);
    }

    [Fact]
    public void The_mcan_3129_vocabulary_loads_with_3129_answers()
    {
        var path = DatasetFolder.SamplePath("answer_vocab_3129.json");
        var vocabulary = AnswerVocabulary.Load(path);

        Assert.Equal(3129, vocabulary.Count);
        using var file = JsonDocument.Parse(File.ReadAllBytes(path));
        foreach (var entry in file.RootElement[0].EnumerateObject())
        {
            Assert.Equal(entry.Value.GetInt32(), vocabulary.Label2Id[entry.Name]);
            Assert.Equal(entry.Name, vocabulary.Id2Label[entry.Value.GetInt32()]);
        }
    }

    public static TheoryData<string, string> FileShapes => new()
    {
        { "list", """["net", "pitcher", "orange"]""" },
        { "answer to id", """{"pitcher": 1, "net": 0, "orange": 2}""" },
        { "id to answer", """{"2": "orange", "0": "net", "1": "pitcher"}""" },
        { "mcan pair", """[{"net": 0, "pitcher": 1, "orange": 2}, {"0": "net", "1": "pitcher", "2": "orange"}]""" },
        { "config.json", """{"model_type": "vilt", "id2label": {"0": "net", "1": "pitcher", "2": "orange"}, "label2id": {"net": 0, "pitcher": 1, "orange": 2}}""" },
    };

    [Theory]
    [MemberData(nameof(FileShapes))]
    public void Every_vocabulary_file_shape_loads(string shape, string json)
    {
        var vocabulary = AnswerVocabulary.Load(_folder.Write($"{shape}.json", json));

        Assert.Equal(["net", "pitcher", "orange"], vocabulary.Id2Label);
        Assert.Equal(1, vocabulary.Label2Id["pitcher"]);
    }

    [Theory]
    [InlineData("""{"0": "net", "2": "orange"}""", "id 1 is missing")]
    [InlineData("""["net", "net"]""", "lists the answer 'net' twice")]
    [InlineData("""[{"net": 0}, {"0": "mesh"}]""", "disagree")]
    [InlineData("""{"net": "zero", "b": 1}""", "not a vocabulary")]
    [InlineData("""{"id2label": {"x": "net"}}""", "key 'x' is not an integer id")]
    [InlineData("""[1, 2]""", "not a vocabulary")]
    [InlineData("""not json""", "not valid JSON")]
    public void Bad_vocabulary_files_say_what_is_wrong(string json, string expected)
    {
        var path = _folder.Write("vocab.json", json);

        var error = Assert.Throws<VqaDataException>(() => AnswerVocabulary.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_missing_vocabulary_file_is_named()
    {
        var error = Assert.Throws<VqaDataException>(() => AnswerVocabulary.Load(_folder.File("absent.json")));
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Save_writes_a_list_that_loads_back()
    {
        var vocabulary = AnswerVocabulary.FromLabels(["yes", "no", "café", "\"quoted\""]);
        var path = _folder.File("out", "vocab.json");

        vocabulary.Save(path);

        Assert.Equal(vocabulary.Id2Label, AnswerVocabulary.Load(path).Id2Label);
        Assert.StartsWith("[\"yes\",\"no\",\"café\"", File.ReadAllText(path));
    }
}
