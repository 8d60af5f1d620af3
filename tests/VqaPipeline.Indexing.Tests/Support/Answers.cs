using VqaPipeline.Contracts.V1;

namespace VqaPipeline.Indexing.Tests.Support;

/// <summary>What an inference service might have answered: seeded, so each test knows exactly what it stored.</summary>
public static class Answers
{
    private static readonly string[] Vocabulary = ["yes", "no", "2", "red", "dog", "cat"];

    /// <summary>
    /// One <see cref="AnswersProduced"/> per image with three ranked answers per question, scores distinct and falling
    /// with the rank.
    /// </summary>
    public static IReadOnlyList<AnswersProduced> For(
        Guid collectionId, IEnumerable<Guid> imageIds, IReadOnlyList<string> questions, string modelVersion, int seed,
        Guid? jobId = null, DateTimeOffset? producedAt = null)
    {
        var random = new Random(seed);
        var job = jobId ?? Guid.NewGuid();
        var time = producedAt ?? DateTimeOffset.UtcNow;
        return imageIds.Select(imageId => new AnswersProduced(job, collectionId, imageId, modelVersion,
                questions.Select(question =>
                {
                    var texts = Vocabulary.OrderBy(_ => random.Next()).Take(3).ToArray();
                    var top = 0.2 + 0.8 * random.NextDouble();
                    return new QuestionAnswers(question, texts.Select((text, rank) => new Answer(text, top / (rank + 1.5))).ToList());
                }).ToList(),
                time))
            .ToList();
    }

    /// <summary>The images a search must return: those with <paramref name="answer"/> among their answers to the question.</summary>
    public static IReadOnlyList<(Guid ImageId, double Score)> Expected(
        IEnumerable<AnswersProduced> messages, string question, string answer, double minScore, int limit) =>
        messages
            .SelectMany(m => m.Questions.Where(q => q.Question == question)
                .SelectMany(q => q.Answers.Where(a => a.Text == answer && a.Score >= minScore).Select(a => (m.ImageId, a.Score))))
            .OrderByDescending(hit => hit.Score)
            .Take(limit)
            .ToList();
}
