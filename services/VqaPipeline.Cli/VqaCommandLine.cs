namespace VqaPipeline.Cli;

public static class VqaCommandLine
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine("vqa");
        return Task.FromResult(0);
    }
}
