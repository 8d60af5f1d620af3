using System.Text;

namespace VqaPipeline.Ml.Checkpoints;

/// <summary>A checkpoint tensor left out because its shape differs from the module's.</summary>
public sealed record MismatchedKey(string Key, long[] CheckpointShape, long[] ModelShape);

/// <summary>What a load left unmatched, named the way transformers reports it (checkpoint-side key names).</summary>
public sealed record LoadReport(
    IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys, IReadOnlyList<MismatchedKey> MismatchedKeys)
{
    /// <summary>True when every module weight came from the checkpoint and every checkpoint tensor was used.</summary>
    public bool IsComplete => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && MismatchedKeys.Count == 0;

    /// <summary>
    /// transformers' log messages for this load, one paragraph each: unused checkpoint weights, newly initialized
    /// weights, and shape mismatches; or the "All the weights … were initialized" line when there is nothing to say.
    /// </summary>
    public string Describe(string modelName, string checkpointName)
    {
        var messages = new List<string>();
        if (UnexpectedKeys.Count > 0)
            messages.Add(
                $"Some weights of the model checkpoint at {checkpointName} were not used when initializing {modelName}: {PythonList(UnexpectedKeys)}\n" +
                $"- This IS expected if you are initializing {modelName} from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n" +
                $"- This IS NOT expected if you are initializing {modelName} from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).");
        if (MissingKeys.Count > 0)
            messages.Add(
                $"Some weights of {modelName} were not initialized from the model checkpoint at {checkpointName} and are newly initialized: {PythonList(MissingKeys)}\n" +
                "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.");
        else if (MismatchedKeys.Count == 0)
            messages.Add(
                $"All the weights of {modelName} were initialized from the model checkpoint at {checkpointName}.\n" +
                $"If your task is similar to the task the model of the checkpoint was trained on, you can already use {modelName} for predictions without further training.");
        if (MismatchedKeys.Count > 0)
        {
            var lines = MismatchedKeys.Select(mismatch =>
                $"- {mismatch.Key}: found shape {TorchSize(mismatch.CheckpointShape)} in the checkpoint and {TorchSize(mismatch.ModelShape)} in the model instantiated");
            messages.Add(
                $"Some weights of {modelName} were not initialized from the model checkpoint at {checkpointName} and are newly initialized because the shapes did not match:\n" +
                string.Join("\n", lines) + "\n" +
                "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.");
        }
        return string.Join("\n", messages);
    }

    internal static string TorchSize(long[] shape) => $"torch.Size([{string.Join(", ", shape)}])";

    /// <summary>Python's repr of a list of strings.</summary>
    internal static string PythonList(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(PythonString)) + "]";

    private static string PythonString(string value)
    {
        var quote = value.Contains('\'') && !value.Contains('"') ? '"' : '\'';
        var text = new StringBuilder().Append(quote);
        foreach (var c in value)
        {
            if (c == '\\' || c == quote)
                text.Append('\\');
            text.Append(c);
        }
        return text.Append(quote).ToString();
    }
}
