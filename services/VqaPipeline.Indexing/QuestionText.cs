using VqaPipeline.Hosting;

namespace VqaPipeline.Indexing;

/// <summary>Questions and answers as the index compares them: see <see cref="TextLimits.NormalizeQuestion"/>.</summary>
internal static class QuestionText
{
    public static string Normalize(string text) => TextLimits.NormalizeQuestion(text);
}
