using System.Globalization;
using System.Text.Json;
using VqaPipeline.Ml.Checkpoints;
using VqaPipeline.Ml.Models.Vilt;

namespace VqaPipeline.Ml.Training;

/// <summary>
/// Where a run stands at a checkpoint: the optimizer steps done, and the settings that fix the data order, so that a
/// resumed run replays exactly the batches the uninterrupted run would have seen.
/// </summary>
public sealed record TrainingState(int GlobalStep, int TotalSteps, long Seed, int BatchSize, int GradientAccumulation,
    int TrainingExamples, int WarmupSteps, double BaseLearningRate);

/// <summary>
/// Resumable checkpoints under <c>OUT/checkpoints/step-N/</c>: a loadable model folder (config.json,
/// model.safetensors, tokenizer and preprocessor files) plus <c>optimizer.safetensors</c> (AdamW's per-parameter
/// state) and <c>trainer_state.json</c>. Each is written under a hidden temporary name and renamed into place.
/// </summary>
public static class TrainingCheckpoints
{
    public const string FolderName = "checkpoints";
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string StateFileName = "trainer_state.json";
    private const string StepPrefix = "step-";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The checkpoint folders under <paramref name="outputFolder"/>, by step, oldest first.</summary>
    public static IReadOnlyList<(int Step, string Folder)> List(string outputFolder)
    {
        var root = Path.Combine(outputFolder, FolderName);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root)
            .Select(folder => (Name: Path.GetFileName(folder), Folder: folder))
            .Where(entry => entry.Name.StartsWith(StepPrefix, StringComparison.Ordinal))
            .Select(entry => (Ok: int.TryParse(entry.Name[StepPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var step), Step: step, entry.Folder))
            .Where(entry => entry.Ok && File.Exists(Path.Combine(entry.Folder, StateFileName)))
            .OrderBy(entry => entry.Step)
            .Select(entry => (entry.Step, entry.Folder))
            .ToList();
    }

    /// <summary>Writes step <paramref name="state"/>.GlobalStep's checkpoint, then keeps only the newest <paramref name="keepLast"/>.</summary>
    public static string Write(string outputFolder, ViltForQuestionAnswering model, ViltConfig config, AdamW optimizer,
        TrainingState state, string tokenizerFolder, string preprocessorFolder, int? keepLast)
    {
        var root = Path.Combine(Path.GetFullPath(outputFolder), FolderName);
        Directory.CreateDirectory(root);
        var target = Path.Combine(root, StepPrefix + state.GlobalStep.ToString(CultureInfo.InvariantCulture));
        var staging = Path.Combine(root, $".{StepPrefix}{state.GlobalStep}.saving-{Guid.NewGuid():N}");
        try
        {
            ViltCheckpointWriter.SavePretrained(model, config, staging, tokenizerFolder, preprocessorFolder);
            Safetensors.Write(Path.Combine(staging, OptimizerFileName), optimizer.StateTensors());
            File.WriteAllText(Path.Combine(staging, StateFileName), JsonSerializer.Serialize(state, JsonOptions));
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        if (keepLast is int keep)
            foreach (var (_, folder) in List(outputFolder).SkipLast(keep))
                Directory.Delete(folder, recursive: true);
        return target;
    }

    /// <summary>Reads a checkpoint's <c>trainer_state.json</c>.</summary>
    public static TrainingState ReadState(string checkpointFolder)
    {
        var path = Path.Combine(checkpointFolder, StateFileName);
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path), JsonOptions)
                   ?? throw new TrainingCheckpointException($"'{path}' is empty.");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new TrainingCheckpointException($"'{path}' cannot be read ({e.Message}).");
        }
    }

    /// <summary>Restores the optimizer state saved in <paramref name="checkpointFolder"/>.</summary>
    public static void LoadOptimizer(string checkpointFolder, AdamW optimizer)
    {
        var path = Path.Combine(checkpointFolder, OptimizerFileName);
        if (!File.Exists(path))
            throw new TrainingCheckpointException($"'{checkpointFolder}' has no {OptimizerFileName}; it cannot be resumed from.");
        using var saved = Safetensors.Read(path);
        optimizer.LoadState(saved);
    }
}
