using System.Diagnostics;

namespace VqaPipeline.TestSupport;

/// <summary>
/// A virtual host of one test fixture's own on the shared RabbitMQ node (<c>VQA_RABBITMQ_URL</c>), made and deleted
/// with <c>infra/local/rabbitmq-vhost.sh</c>. Exchanges are per virtual host, so what the fixture's services publish
/// reaches only its own queues, never another test assembly's (whose database would not know the message); deleting
/// it removes every queue and exchange the fixture declared.
/// </summary>
public sealed class RabbitMqVirtualHost : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(Fixtures.RepositoryRoot, "infra", "local", "rabbitmq-vhost.sh");

    private RabbitMqVirtualHost(string name, string url)
    {
        Name = name;
        Url = url;
    }

    /// <summary>The virtual host's name: <c>vqa-test-{purpose}-{guid}</c>.</summary>
    public string Name { get; }

    /// <summary><c>VQA_RABBITMQ_URL</c> with this virtual host: what the fixture's services and worker processes use.</summary>
    public string Url { get; }

    /// <summary>Adds a new virtual host named after <paramref name="purpose"/> and gives guest every permission on it.</summary>
    public static async Task<RabbitMqVirtualHost> CreateAsync(string purpose)
    {
        var name = $"vqa-test-{purpose}-{Guid.NewGuid():N}";
        await RunAsync("add", name);
        var url = new UriBuilder(LocalStack.Get("VQA_RABBITMQ_URL")) { Path = "/" + name }.Uri.ToString();
        return new RabbitMqVirtualHost(name, url);
    }

    /// <summary>Deletes the virtual host with everything in it; stop the services using it first.</summary>
    public ValueTask DisposeAsync() => new(RunAsync("delete", Name));

    /// <summary>The queues of the virtual host <paramref name="name"/> and how many messages each holds.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> QueueDepthsAsync(string name) =>
        (await RunAsync("queues", name)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Where(columns => columns.Length == 2 && long.TryParse(columns[1], out _))
            .ToDictionary(columns => columns[0], columns => long.Parse(columns[1]));

    private static async Task<string> RunAsync(string command, string name)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [Script, command, name])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"rabbitmq-vhost.sh {command} {name} failed ({process.ExitCode}): {(await errors).Trim()} "
                + "(the shared RabbitMQ must be the node infra/local/up.sh started)");
        return await output;
    }
}
