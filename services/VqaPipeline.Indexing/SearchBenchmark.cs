namespace VqaPipeline.Indexing;

internal static class SearchBenchmark
{
    public const string Argument = "--bench-search";
    public static Task<int> RunAsync(string[] args) => Task.FromResult(0);
}
