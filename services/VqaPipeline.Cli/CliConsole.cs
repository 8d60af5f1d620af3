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

    /// <summary><c>--quiet</c>, on every command: no progress bars (the summary lines stay).</summary>
    public Option<bool> Quiet { get; } = new("--quiet")
    {
        Description = "No progress bars on stderr (they are drawn only when stderr is a terminal anyway)",
        Recursive = true,
    };

    /// <summary>
    /// A progress bar for a long command on stderr: drawn when stderr is a terminal and <c>--quiet</c> was not given;
    /// its summary line is written in any case.
    /// </summary>
    public ProgressBar Progress(ParseResult parse, string label, string unit, long? total = null) =>
        new(Error, label, unit, total, live: ProgressBar.IsTerminal(Error) && !parse.GetValue(Quiet));

    /// <summary>The Hub options every command resolves models with; downloads show progress on a terminal.</summary>
    public HubOptions Hub => _hub ??= hub with { Progress = hub.Progress ?? new ProgressReporter(Error, () => ProgressBar.IsTerminal(Error) && !_quiet) };

    private HubOptions? _hub;
    private bool _quiet;

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public void Log(string message) => Error.WriteLine(message);

    public void Warn(string message) => Error.WriteLine($"warning: {message}");

    /// <summary>Runs a command body with the CLI's error policy.</summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            _quiet = parse.GetValue(Quiet);
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
