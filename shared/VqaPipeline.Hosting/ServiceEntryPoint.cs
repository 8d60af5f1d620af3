using Microsoft.AspNetCore.Builder;

namespace VqaPipeline.Hosting;

/// <summary>The way every service process runs: one line on stderr and exit code 1 when it cannot start or stops on an error.</summary>
public static class ServiceEntryPoint
{
    /// <summary>
    /// Builds the service with <paramref name="build"/> and runs it until it is stopped. A missing setting, an
    /// unreachable server at start-up or a failure that stops the host prints <c>error: {service}: {reason}</c> (the
    /// details are in the service log) and returns 1, instead of an unhandled exception's stack trace.
    /// </summary>
    public static async Task<int> RunAsync(string serviceName, Func<WebApplication> build)
    {
        try
        {
            await using var app = build();
            await app.RunAsync();
            return 0;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var reason = exception.GetBaseException().Message.ReplaceLineEndings(" ");
            await Console.Error.WriteLineAsync($"error: {serviceName}: {reason}");
            return 1;
        }
    }
}
