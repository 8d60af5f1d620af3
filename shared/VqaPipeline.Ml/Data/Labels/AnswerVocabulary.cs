using System.Globalization;
using System.Text.Json;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Ml.Data.Labels;

/// <summary>What <see cref="AnswerVocabulary.Build(AnswerCounts, VocabularyOptions?)"/> keeps.</summary>
public sealed record VocabularyOptions
{
    /// <summary>Keep only answers that are the majority answer of at least this many questions.</summary>
    public int MinAnswerCount { get; init; } = 1;

    /// <summary>Keep at most this many answers, the most frequent first; null keeps all that pass the count.</summary>
    public int? MaxAnswers { get; init; }

    public LabelMode Mode { get; init; } = LabelMode.Normalized;
}

/// <summary>
/// The answers a classification head can give, id ↔ answer text (a model's <c>id2label</c>). Built from a dataset's
/// answers, or loaded from a vocabulary file.
/// </summary>
public sealed class AnswerVocabulary
{
    private readonly string[] _labels;
    private readonly Dictionary<string, int> _ids;

    private AnswerVocabulary(string[] labels, string source)
    {
        _labels = labels;
        _ids = new Dictionary<string, int>(labels.Length, StringComparer.Ordinal);
        for (var id = 0; id < labels.Length; id++)
            if (!_ids.TryAdd(labels[id], id))
                throw new VqaDataException($"{source} lists the answer '{labels[id]}' twice (ids {_ids[labels[id]]} and {id}).");
    }

    public int Count => _labels.Length;

    /// <summary>Answer text by id: the model's <c>config.id2label</c>.</summary>
    public IReadOnlyList<string> Id2Label => _labels;

    /// <summary>Id by answer text (ordinal, exact): the model's <c>config.label2id</c>.</summary>
    public IReadOnlyDictionary<string, int> Label2Id => _ids;

    public bool TryGetId(string answer, out int id) => _ids.TryGetValue(answer, out id);

    /// <summary>A vocabulary whose ids are the positions in <paramref name="labels"/>.</summary>
    public static AnswerVocabulary FromLabels(IEnumerable<string> labels) =>
        new(labels.ToArray(), "The label list");

    /// <summary>
    /// Counts the examples' answers (normalized in <see cref="LabelMode.Normalized"/>; in <see cref="LabelMode.AsGiven"/>
    /// the given label texts, else the raw answers) and keeps those passing <paramref name="options"/>. Ids follow
    /// frequency, most frequent first, ties in ordinal order of the answer text, so the same data gives the same ids.
    /// </summary>
    public static AnswerVocabulary Build(IEnumerable<VqaExample> examples, VocabularyOptions? options = null) =>
        Build(AnswerCounts.Count(examples, (options ?? new VocabularyOptions()).Mode), options);

    /// <inheritdoc cref="Build(IEnumerable{VqaExample}, VocabularyOptions?)"/>
    public static AnswerVocabulary Build(AnswerCounts counts, VocabularyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        options ??= new VocabularyOptions();
        if (options.MinAnswerCount < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "MinAnswerCount must be at least 1.");
        if (options.MaxAnswers is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "MaxAnswers must be at least 1.");
        var kept = counts.ByFrequency.Where(entry => entry.Count >= options.MinAnswerCount).Select(entry => entry.Answer);
        if (options.MaxAnswers is { } max) kept = kept.Take(max);
        return new AnswerVocabulary(kept.ToArray(), "The counted answers");
    }

    /// <summary>
    /// Loads a vocabulary file: a JSON list of answers (id = position); an <c>{"answer": id}</c> map; an
    /// <c>{"id": "answer"}</c> map; the mcan-vqa pair <c>[ans_to_ix, ix_to_ans]</c>; or a Hugging Face
    /// <c>config.json</c> (its <c>id2label</c>). Ids must run 0..N-1 without gaps.
    /// </summary>
    /// <exception cref="VqaDataException">The file is missing, not JSON, or none of these shapes.</exception>
    public static AnswerVocabulary Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new VqaDataException($"Vocabulary file '{path}' does not exist.");
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new VqaDataException($"Vocabulary file '{path}' is not valid JSON ({e.Message})", e);
        }
        var source = $"Vocabulary file '{path}'";
        return new AnswerVocabulary(LabelsOf(root, source), source);
    }

    /// <summary>Writes the answers as a JSON list in id order (a shape <see cref="Load"/> reads back).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(_labels, new JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
    }

    private static string[] LabelsOf(JsonElement root, string source)
    {
        if (root.ValueKind == JsonValueKind.Array)
        {
            var items = root.EnumerateArray().ToList();
            if (items.Count == 2 && items.All(item => item.ValueKind == JsonValueKind.Object))
                return McanPair(items[0], items[1], source);
            if (items.All(item => item.ValueKind == JsonValueKind.String))
                return items.Select(item => item.GetString()!).ToArray();
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            if (root.TryGetProperty("id2label", out var id2Label) && id2Label.ValueKind == JsonValueKind.Object)
                return FromIdToAnswer(id2Label, $"{source} (id2label)");
            var properties = root.EnumerateObject().ToList();
            if (properties.Count > 0 && properties.All(p => p.Value.ValueKind == JsonValueKind.Number))
                return FromAnswerToId(root, source);
            if (properties.Count > 0 && properties.All(p => p.Value.ValueKind == JsonValueKind.String))
                return FromIdToAnswer(root, source);
        }
        throw new VqaDataException($"{source} is not a vocabulary: expected a JSON list of answers, an {{\"answer\": id}} " +
                                   "or {\"id\": \"answer\"} map, an mcan [ans_to_ix, ix_to_ans] pair, or a config.json with id2label.");
    }

    private static string[] McanPair(JsonElement answerToId, JsonElement idToAnswer, string source)
    {
        var fromAnswers = FromAnswerToId(answerToId, $"{source} (ans_to_ix)");
        var fromIds = FromIdToAnswer(idToAnswer, $"{source} (ix_to_ans)");
        return fromAnswers.SequenceEqual(fromIds, StringComparer.Ordinal)
            ? fromAnswers
            : throw new VqaDataException($"{source}: ans_to_ix and ix_to_ans disagree.");
    }

    private static string[] FromAnswerToId(JsonElement map, string source) =>
        Dense(map.EnumerateObject().Select(p =>
            (p.Value.TryGetInt32(out var id) ? id : throw new VqaDataException($"{source}: id of '{p.Name}' is not an integer."), p.Name)), source);

    private static string[] FromIdToAnswer(JsonElement map, string source) =>
        Dense(map.EnumerateObject().Select(p =>
            (int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                ? id
                : throw new VqaDataException($"{source}: key '{p.Name}' is not an integer id."),
             p.Value.ValueKind == JsonValueKind.String
                ? p.Value.GetString()!
                : throw new VqaDataException($"{source}: the answer of id {p.Name} is not a string."))), source);

    private static string[] Dense(IEnumerable<(int Id, string Answer)> entries, string source)
    {
        var byId = new SortedDictionary<int, string>();
        foreach (var (id, answer) in entries)
            if (!byId.TryAdd(id, answer))
                throw new VqaDataException($"{source}: id {id} appears twice.");
        var expected = 0;
        foreach (var id in byId.Keys)
            if (id != expected++)
                throw new VqaDataException($"{source}: ids must run 0..{byId.Count - 1}, but id {expected - 1} is missing.");
        return byId.Values.ToArray();
    }
}

/// <summary>How often each answer occurs in a dataset, most frequent first (ties by ordinal answer text).</summary>
public sealed class AnswerCounts
{
    private AnswerCounts(IReadOnlyList<(string Answer, int Count)> byFrequency, int examples, int examplesWithAnswers)
    {
        ByFrequency = byFrequency;
        Examples = examples;
        ExamplesWithAnswers = examplesWithAnswers;
    }

    public IReadOnlyList<(string Answer, int Count)> ByFrequency { get; }

    public int Examples { get; }

    /// <summary>Examples with at least one answer (or given label).</summary>
    public int ExamplesWithAnswers { get; }

    public int TotalAnswers => ByFrequency.Sum(entry => entry.Count);

    /// <summary>
    /// Counts, per question, its majority answer after normalization (ViLT's <c>write_vqa.py</c> counts VQA v2's
    /// <c>multiple_choice_answer</c>, the most common of the ten, over train+val and keeps those seen ≥ 9 times: 3129
    /// answers); in <see cref="LabelMode.AsGiven"/> mode every given label counts once.
    /// </summary>
    public static AnswerCounts Count(IEnumerable<VqaExample> examples, LabelMode mode = LabelMode.Normalized)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        int total = 0, withAnswers = 0;
        foreach (var example in examples)
        {
            total++;
            var answers = AnswerTexts(example, mode).ToList();
            if (answers.Count == 0) continue;
            withAnswers++;
            var counted = mode == LabelMode.Normalized ? [MajorityAnswer(answers)] : answers;
            foreach (var answer in counted)
                counts[answer] = counts.GetValueOrDefault(answer) + 1;
        }
        var ordered = counts.Select(entry => (entry.Key, entry.Value))
            .OrderByDescending(entry => entry.Value)
            .ThenBy(entry => entry.Key, StringComparer.Ordinal)
            .ToList();
        return new AnswerCounts(ordered, total, withAnswers);
    }

    /// <summary>The most frequent answer; ties go to the ordinally smallest text, so the count is deterministic.</summary>
    private static string MajorityAnswer(IReadOnlyList<string> answers) =>
        answers.GroupBy(answer => answer, StringComparer.Ordinal)
            .OrderByDescending(group => group.Count())
            .ThenBy(group => group.Key, StringComparer.Ordinal)
            .First().Key;

    private static IEnumerable<string> AnswerTexts(VqaExample example, LabelMode mode)
    {
        if (mode == LabelMode.Normalized)
            return example.Answers.Select(answer => VqaAnswerNormalizer.Normalize(answer.Answer));
        if (example.GivenLabels is not { } labels)
            return example.Answers.Select(answer => answer.Answer);
        return labels.Select(label => label.Answer ?? throw new VqaDataException(
            $"question {example.QuestionId}: label id {label.Id} has no answer text; pass the id2label (DataOptions.Id2Label) to name it."));
    }
}
