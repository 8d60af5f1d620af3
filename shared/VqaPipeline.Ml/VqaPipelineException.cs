namespace VqaPipeline.Ml;

/// <summary>
/// Base of every error the engine reports about its inputs (images, questions, model folders, checkpoints, the Hub).
/// Its message is one line that says what is wrong and, where possible, what to do; hosts print it without a stack trace.
/// </summary>
public class VqaPipelineException : Exception
{
    public VqaPipelineException(string message) : base(message) { }
    public VqaPipelineException(string message, Exception? inner) : base(message, inner) { }
}
