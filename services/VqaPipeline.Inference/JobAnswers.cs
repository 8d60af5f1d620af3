using VqaPipeline.Contracts.V1;
using VqaPipeline.Ml.Imaging;
using VqaPipeline.Ml.Pipelines;

namespace VqaPipeline.Inference;

/// <summary>
/// The answers a job stores for each of its images, from either kind of model: a classifier's top-k labels with their
/// sigmoid scores, or a generative model's written answer with its score. For a written "yes" or "no", the other of the
/// two follows with the probability the model gives it, so that a search for "yes" ranks every image by the same
/// measure, whatever it answered.
/// </summary>
public static class JobAnswers
{
    private static readonly GenerationOptions Generation = new() { ScoreYesNo = true };

    /// <summary>Every question of <paramref name="questions"/> about every image, one forward pass at a time per model.</summary>
    public static async Task<IReadOnlyList<(Guid Id, IReadOnlyList<QuestionAnswers> Answers)>> AnswerAsync(
        LoadedModel model, IReadOnlyList<string> questions, int topK, IReadOnlyList<(Guid Id, RgbImage Pixels)> images,
        CancellationToken cancellationToken)
    {
        if (images.Count == 0)
            return [];
        await model.Gate.WaitAsync(cancellationToken);
        try
        {
            return model.Engine.IsGenerative ? Generated(model.Engine, questions, images) : Classified(model.Engine, questions, topK, images);
        }
        finally
        {
            model.Gate.Release();
        }
    }

    /// <summary>A generated answer as stored: itself first, then the other of "yes" and "no" when it is one of them.</summary>
    public static IReadOnlyList<Answer> Stored(GeneratedAnswer generated) =>
        [new Answer(generated.Answer, generated.Score),
         .. generated.CandidateScores.Where(candidate => candidate.Key != generated.Answer)
             .OrderBy(candidate => candidate.Key, StringComparer.Ordinal)
             .Select(candidate => new Answer(candidate.Key, candidate.Value))];

    private static List<(Guid, IReadOnlyList<QuestionAnswers>)> Classified(
        VqaEngine engine, IReadOnlyList<string> questions, int topK, IReadOnlyList<(Guid Id, RgbImage Pixels)> images)
    {
        // Every (image, question) pair of the batch in the engine's batches: all of an image's questions in the same passes.
        var results = engine.Ask(images.SelectMany(image => questions.Select(question => new VqaQuery(image.Pixels, question))).ToArray(), topK);
        return images.Select((image, i) => (image.Id, (IReadOnlyList<QuestionAnswers>)results
                .Skip(i * questions.Count).Take(questions.Count)
                .Select((result, q) => new QuestionAnswers(questions[q], result.Answers.Select(a => new Answer(a.Answer, a.Score)).ToArray()))
                .ToArray()))
            .ToList();
    }

    private static List<(Guid, IReadOnlyList<QuestionAnswers>)> Generated(
        VqaEngine engine, IReadOnlyList<string> questions, IReadOnlyList<(Guid Id, RgbImage Pixels)> images) =>
        images.Select(image =>
        {
            // The vision tower (and BLIP-2's Q-Former) runs once per image, for every question of the job.
            using var encoded = engine.EncodeImage(image.Pixels);
            return (image.Id, (IReadOnlyList<QuestionAnswers>)engine.Generate(encoded, questions, Generation)
                .Select((answer, q) => new QuestionAnswers(questions[q], Stored(answer))).ToArray());
        }).ToList();
}
