using System.CommandLine;
using System.Globalization;
using VqaPipeline.Ml.Evaluation;

namespace VqaPipeline.Cli.Commands;

/// <summary><c>vqa score</c>: the official VQA accuracy of a results file, overall and per answer / question type.</summary>
internal static class ScoreCommand
{
    public static Command Create(CliConsole console)
    {
        var questions = new Option<string>("--questions") { Description = "Official questions JSON", Required = true };
        var annotations = new Option<string>("--annotations") { Description = "Official annotations JSON", Required = true };
        var results = new Option<string>("--results")
        {
            Description = "Results JSON: [{\"question_id\": …, \"answer\": \"…\"}] covering every annotated question",
            Required = true,
        };
        var metric = CommonOptions.Metric();
        var json = CommonOptions.Json();

        var command = new Command("score",
            "Score answers with the VQA accuracy metric.\n\n" +
            "Metrics (--metric):\n" +
            "  official       GT-Vision-Lab/VQA's vqaEval.py as it is today (commit a013f00, 2021), as Python 2.7 runs it:\n" +
            "                 answers lose newlines, tabs and outer spaces; only when the ten humans disagree are both the\n" +
            "                 humans and the prediction normalized (punctuation, number words, articles, case), so with\n" +
            "                 ten identical answers 'Orange' against 'orange' scores 0. The default.\n" +
            "  official-2017  the same file as of 2017 (commit a4f1afd), as its Python 3 port runs it: the prediction is\n" +
            "                 always normalized, disagreeing humans only lose punctuation. Most published numbers and\n" +
            "                 ports (and this tool before) use it.\n" +
            "  normalized     lmms-eval's vqav2 treatment: both sides normalized in full.\n\n" +
            "Example:\n" +
            "  vqa score --questions q.json --annotations a.json --results r.json --json")
        {
            questions, annotations, results, metric, json,
        };

        console.SetAction(command, (parse, _) =>
        {
            var questionIds = VqaEvaluationFiles.LoadQuestionIds(parse.GetRequiredValue(questions)).ToHashSet();
            var annotationFile = VqaEvaluationFiles.LoadAnnotations(parse.GetRequiredValue(annotations));
            var unasked = annotationFile.Annotations.Where(a => !questionIds.Contains(a.QuestionId)).ToList();
            if (unasked.Count > 0)
                throw new CliUsageException(
                    $"{unasked.Count} annotated questions are not in the questions file (first: {unasked[0].QuestionId}); " +
                    "are the questions and annotations of the same split?");
            if (annotationFile.UntypedCount > 0)
                console.Warn($"{annotationFile.UntypedCount} annotations have no question_type or answer_type; " +
                             $"they are counted under \"{VqaEvaluationFiles.UnknownType}\".");

            var predictions = VqaEvaluationFiles.LoadResults(parse.GetRequiredValue(results));
            var chosen = CommonOptions.ParseMetric(parse.GetRequiredValue(metric));
            var score = VqaAccuracy.Score(annotationFile.Annotations, predictions, chosen);

            if (parse.GetValue(json))
                console.WriteJson(new
                {
                    metric = CommonOptions.MetricName(chosen),
                    overall = score.Overall,
                    perAnswerType = score.PerAnswerType,
                    perQuestionType = score.PerQuestionType,
                });
            else
            {
                // The report itself keeps the official demo's lines; which metric made them goes to stderr.
                console.Log($"metric: {CommonOptions.MetricDescription(chosen)}");
                WriteReport(console.Out, score);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    // The lines of the official vqaEvalDemo.py, in its order.
    private static void WriteReport(TextWriter output, VqaScore score)
    {
        output.WriteLine(Invariant($"Overall Accuracy is: {score.Overall:0.00}"));
        output.WriteLine();
        output.WriteLine("Per Question Type Accuracy is the following:");
        foreach (var (type, accuracy) in score.PerQuestionType) output.WriteLine(Invariant($"{type} : {accuracy:0.00}"));
        output.WriteLine();
        output.WriteLine("Per Answer Type Accuracy is the following:");
        foreach (var (type, accuracy) in score.PerAnswerType) output.WriteLine(Invariant($"{type} : {accuracy:0.00}"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
