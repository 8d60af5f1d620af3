using System.Text;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Hosting;

/// <summary>
/// How long a question and a model name may be, checked where they enter (the jobs API, search) against what the
/// index stores, so nothing accepted there can fail later in a consumer. The index keeps the normalized question in a
/// <c>varchar(1000)</c> column and in btree keys beside the model version (<c>varchar(500)</c>): PostgreSQL counts
/// characters for the column but bytes for a key, which may hold at most 2,704 bytes — 1,000 CJK characters (3,000
/// bytes) fit the column and break the key. Limits are therefore in UTF-8 bytes, and the question's is applied after
/// normalization, which can lengthen it ("dont" becomes "don't").
/// </summary>
public static class TextLimits
{
    /// <summary>The most UTF-8 bytes of a question once normalized (within <c>varchar(1000)</c>).</summary>
    public const int MaxNormalizedQuestionBytes = 1000;

    /// <summary>The most characters of a question as asked, kept beside the normalized one (<c>varchar(1000)</c>).</summary>
    public const int MaxQuestionCharacters = 1000;

    /// <summary>The most UTF-8 bytes of a model version the index stores (<c>varchar(500)</c>).</summary>
    public const int MaxModelVersionBytes = 500;

    /// <summary>
    /// The most UTF-8 bytes of a model as a job names it: room is left for what its version adds (a folder's
    /// <c>#sha256:…</c>, a Hub model's <c>@commit</c>) within <see cref="MaxModelVersionBytes"/>.
    /// </summary>
    public const int MaxModelBytes = 400;

    /// <summary>
    /// A question as the index compares it: normalized as the official VQA evaluation normalizes answers (case,
    /// punctuation, articles, number words, contractions), so "Is there a dog" and "is there a dog?" are one question.
    /// </summary>
    public static string NormalizeQuestion(string question) => VqaAnswerNormalizer.Normalize(question);

    /// <summary>Why <paramref name="question"/> is too long to index, or <c>null</c> when it fits.</summary>
    public static string? QuestionProblem(string question)
    {
        if (question.Length > MaxQuestionCharacters)
            return $"the question has {question.Length} characters, more than {MaxQuestionCharacters}";
        var bytes = Encoding.UTF8.GetByteCount(NormalizeQuestion(question));
        return bytes > MaxNormalizedQuestionBytes
            ? $"the question is {bytes} bytes once normalized (UTF-8), more than {MaxNormalizedQuestionBytes}: ask a shorter question"
            : null;
    }

    /// <summary>Why <paramref name="model"/>, as a job names it, is too long, or <c>null</c> when it fits.</summary>
    public static string? ModelProblem(string model) => BytesProblem("the model", model, MaxModelBytes);

    /// <summary>Why <paramref name="modelVersion"/> is too long to index, or <c>null</c> when it fits.</summary>
    public static string? ModelVersionProblem(string modelVersion) => BytesProblem("the model version", modelVersion, MaxModelVersionBytes);

    private static string? BytesProblem(string what, string text, int limit)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        return bytes > limit ? $"{what} is {bytes} bytes (UTF-8), more than {limit}" : null;
    }
}
