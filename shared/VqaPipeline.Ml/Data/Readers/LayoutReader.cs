namespace VqaPipeline.Ml.Data.Readers;

/// <summary>One dataset file layout: turns its files into examples, reporting bad records instead of throwing.</summary>
internal interface ILayoutReader
{
    VqaLayout Layout { get; }

    /// <summary>The data files read, in reading order.</summary>
    IReadOnlyList<string> Files { get; }

    IAsyncEnumerable<ReadResult> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>An example, or why the record could not become one.</summary>
internal readonly record struct ReadResult(VqaExample? Example, BadExample? Problem)
{
    public static implicit operator ReadResult(VqaExample example) => new(example, null);

    public static implicit operator ReadResult(BadExample problem) => new(null, problem);
}
