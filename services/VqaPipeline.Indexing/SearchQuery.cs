using VqaPipeline.Hosting;
using System.Globalization;

namespace VqaPipeline.Indexing;

/// <summary>A validated <c>GET /search</c>: the question and answer as given and as the index compares them.</summary>
internal sealed record SearchQuery(
    string Question, string NormalizedQuestion, string Answer, string NormalizedAnswer, double MinScore,
    Guid CollectionId, int Limit, string? ModelVersion)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    /// <summary>The query of <paramref name="parameters"/>, or the one-line reason it is not valid.</summary>
    public static (SearchQuery? Query, string? Error) Parse(IQueryCollection parameters)
    {
        string? Single(string name) => parameters.TryGetValue(name, out var values) ? values.ToString() : null;

        var question = Single("question")?.Trim();
        if (string.IsNullOrEmpty(question))
            return Invalid("give the question to search for: question=…");
        if (TextLimits.QuestionProblem(question) is { } tooLong)
            return Invalid(tooLong);
        var normalizedQuestion = QuestionText.Normalize(question);
        if (normalizedQuestion.Length == 0)
            return Invalid($"the question '{question}' is empty once normalized (punctuation and articles only)");

        var answer = Single("answer")?.Trim();
        if (string.IsNullOrEmpty(answer))
            return Invalid("give the answer the images must have: answer=… (for example answer=yes)");
        var normalizedAnswer = QuestionText.Normalize(answer);
        if (normalizedAnswer.Length == 0)
            return Invalid($"the answer '{answer}' is empty once normalized (punctuation and articles only)");

        var collectionText = Single("collection");
        if (string.IsNullOrWhiteSpace(collectionText))
            return Invalid("give the collection to search: collection=<id>");
        if (!Guid.TryParse(collectionText, out var collectionId))
            return Invalid($"collection '{collectionText}' is not a collection id (a GUID)");

        var minScore = 0.0;
        if (Single("minScore") is { Length: > 0 } minScoreText
            && (!double.TryParse(minScoreText, NumberStyles.Float, CultureInfo.InvariantCulture, out minScore)
                || !double.IsFinite(minScore) || minScore is < 0 or > 1))
            return Invalid($"minScore '{minScoreText}' is not a number from 0 to 1");

        var limit = DefaultLimit;
        if (Single("limit") is { Length: > 0 } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
            return Invalid($"limit '{limitText}' is not a whole number from 1 to {MaxLimit}");

        var modelVersion = Single("modelVersion") is { Length: > 0 } version ? version.Trim() : null;
        if (modelVersion is not null && TextLimits.ModelVersionProblem(modelVersion) is { } versionTooLong)
            return Invalid(versionTooLong);
        return (new SearchQuery(question, normalizedQuestion, answer, normalizedAnswer, minScore, collectionId, limit, modelVersion), null);
    }

    private static (SearchQuery?, string?) Invalid(string reason) => (null, reason);
}
