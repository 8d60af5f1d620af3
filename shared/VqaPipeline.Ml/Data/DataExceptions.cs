namespace VqaPipeline.Ml.Data;

/// <summary>A dataset folder or file that cannot be read as VQA data at all.</summary>
public class VqaDataException : VqaPipelineException
{
    public VqaDataException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>One example that cannot be used; its message names the question id and the file.</summary>
public sealed class BadExampleException(BadExample example, Exception? inner = null)
    : VqaDataException(example.ToString(), inner)
{
    public BadExample Example { get; } = example;
}

/// <summary>
/// Why an example was rejected: <paramref name="Where"/> says where it is (question id, or file and line when the id
/// is unknown) and <paramref name="Problem"/> what is wrong.
/// </summary>
public sealed record BadExample(long? QuestionId, string Where, string Problem)
{
    public override string ToString() => $"{Where}: {Problem}";
}
