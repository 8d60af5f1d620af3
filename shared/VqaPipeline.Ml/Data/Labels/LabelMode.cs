namespace VqaPipeline.Ml.Data.Labels;

/// <summary>How answers become labels.</summary>
public enum LabelMode
{
    /// <summary>
    /// Human answers are normalized exactly as the official evaluator does
    /// (<see cref="Evaluation.VqaAnswerNormalizer"/>) and scored by how many annotators gave each one.
    /// </summary>
    Normalized,

    /// <summary>
    /// As the Hugging Face VQA fine-tuning guide does: a dataset's own <c>label.ids</c>/<c>weights</c> are kept as they
    /// are, and answer texts are matched verbatim, never normalized. Examples without given labels are scored from
    /// their raw human answers.
    /// </summary>
    AsGiven,
}
