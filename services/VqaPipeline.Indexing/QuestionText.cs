using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Indexing;

/// <summary>
/// Questions and answers as the index compares them: normalized as the official VQA evaluation normalizes answers
/// (case, punctuation, articles, number words, contractions), so "Is there a dog" and "is there a dog?" are one question.
/// </summary>
internal static class QuestionText
{
    public static string Normalize(string text) => VqaAnswerNormalizer.Normalize(text);
}
