using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using VqaPipeline.Ml;
using VqaPipeline.Ml.Checkpoints.Hub;

namespace VqaPipeline.Cli;

/// <summary>
/// Where a command writes: results to stdout (only JSON when --json was asked for), everything else to stderr.
/// Runs command bodies so that input errors become one line and an exit code, never a stack trace.
/// </summary>
/// <param name="hub">Where Hub ids are downloaded from and cached (normally read from the environment).</param>
public sealed class CliConsole(TextWriter stdout, TextWriter stderr, HubOptions hub)
{
    public const int InputError = 1;
    public const int Cancelled = 130;
    public const int InternalError = 70;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;

    /// <summary>Whether stderr is an interactive terminal (progress bars only there).</summary>
    /// <summary>The Hub options every command resolves models with; downloads show progress on a terminal.</summary>
    public HubOptions Hub { get; } = hub with { Progress = hub.Progress ?? ProgressReporter.For(stderr) };

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public void Log(string message) => Error.WriteLine(message);

    public void Warn(string message) => Error.WriteLine($"warning: {message}");

    /// <summary>Runs a command body with the CLI's error policy.</summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (VqaPipelineException error)
            {
                Error.WriteLine($"error: {error.Message}");
                return InputError;
            }
            catch (OperationCanceledException)
            {
                Error.WriteLine("cancelled");
                return Cancelled;
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                Error.WriteLine($"error: {error.Message}");
                return InputError;
            }
            catch (Exception error)
            {
                Error.WriteLine($"error: unexpected {error.GetType().Name}: {error.Message}");
                if (Environment.GetEnvironmentVariable("VQA_DEBUG") == "1") Error.WriteLine(error);
                else Error.WriteLine("(set VQA_DEBUG=1 for details)");
                return InternalError;
            }
        });
}

/// <summary>The command line itself is wrong (an option without the one it needs, say).</summary>
public sealed class CliUsageException(string message) : VqaPipelineException(message);
