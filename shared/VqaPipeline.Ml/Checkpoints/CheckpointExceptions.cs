namespace VqaPipeline.Ml.Checkpoints;

/// <summary>A model folder or file does not exist, or lacks the file that makes it a model (config.json, weights).</summary>
public sealed class ModelNotFoundException(string message) : VqaPipelineException(message);

/// <summary>A config.json names a <c>model_type</c> VqaPipeline has no implementation for.</summary>
public sealed class UnsupportedModelException(string message) : VqaPipelineException(message);

/// <summary>A checkpoint or config file is malformed, truncated or uses a feature this reader does not support.</summary>
public sealed class CheckpointFormatException(string message, Exception? inner = null)
    : VqaPipelineException(message, inner);

/// <summary>A pickled checkpoint asks for code other than tensor rebuilding; nothing in it was executed.</summary>
public sealed class UnsafeCheckpointException(string message) : VqaPipelineException(message);

/// <summary>Checkpoint keys or shapes do not fit the module they are loaded into.</summary>
public sealed class CheckpointMismatchException(string message) : VqaPipelineException(message);
