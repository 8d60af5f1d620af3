using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Models.Vilt;

/// <summary>A question-answering model built on a pretrained backbone, and what loading the backbone reported.</summary>
/// <param name="LoadMessage">transformers' log text for the load (unused weights, newly initialized weights).</param>
public sealed record ViltFineTuningStart(ViltForQuestionAnswering Model, ViltConfig Config, LoadReport Report, string LoadMessage);

/// <summary>Starting points for fine-tuning ViLT on visual question answering.</summary>
public static class ViltFineTuning
{
    /// <summary>
    /// <c>ViltForQuestionAnswering.from_pretrained(backbone, id2label=…, label2id=…, ignore_mismatched_sizes=True)</c>:
    /// the backbone's <c>vilt.*</c> weights (from an MLM, QA or bare checkpoint) with a new classifier sized to
    /// <paramref name="answers"/>, whose modules are initialized like transformers' <c>_init_weights</c> from
    /// <paramref name="seed"/>.
    /// </summary>
    public static ViltFineTuningStart FromBackbone(string backboneFolder, IReadOnlyList<string> answers, long seed = 0)
    {
        if (answers.Count == 0)
            throw new InvalidTrainingBatchException("the answer vocabulary is empty: fine-tuning needs at least one answer label.");
        var duplicate = answers.GroupBy(answer => answer, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new InvalidTrainingBatchException($"the answer '{duplicate.Key}' appears twice in the answer vocabulary; labels must be unique.");

        var config = ModelConfig.Load<ViltConfig>(backboneFolder);
        config.Id2Label = answers.Select((answer, id) => (answer, id)).ToDictionary(pair => pair.id, pair => pair.answer);
        config.Label2Id = answers.Select((answer, id) => (answer, id)).ToDictionary(pair => pair.answer, pair => pair.id);
        config.Architectures = [nameof(ViltForQuestionAnswering)];

        var model = new ViltForQuestionAnswering(config);
        LoadReport report;
        using (var weights = CheckpointReader.ReadFolder(backboneFolder))
            report = ModuleWeights.Load(model, weights, new LoadOptions
            {
                BaseModelPrefix = ViltForQuestionAnswering.BaseModelPrefix,
                IgnoreMismatchedSizes = true,
            });

        var moduleKeys = model.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
        var notLoaded = report.MissingKeys.Concat(report.MismatchedKeys.Select(mismatch => mismatch.Key))
            .Select(key => moduleKeys.Contains(key) ? key : $"{ViltForQuestionAnswering.BaseModelPrefix}.{key}")
            .ToList();
        ViltInitializer.InitializeKeys(model, config, seed, notLoaded);
        return new ViltFineTuningStart(model, config, report, report.Describe(nameof(ViltForQuestionAnswering), backboneFolder));
    }
}
