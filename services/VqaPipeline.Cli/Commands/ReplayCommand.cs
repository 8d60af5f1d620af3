using System.CommandLine;
using MassTransit;
using VqaPipeline.Data;
using VqaPipeline.Messaging.Replay;

namespace VqaPipeline.Cli.Commands;

/// <summary>
/// <c>vqa replay</c>: republishes logged messages of one type from the event log of the service that published it, in
/// the order they occurred, each with a new message id (consumers handle it again) naming the original. An operator's
/// tool: <c>VQA_POSTGRES</c> is a login that may read every service's schema (the server's own, in the local stack),
/// <c>VQA_RABBITMQ_URL</c> the broker.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create(CliConsole console)
    {
        var type = new Option<string>("--type")
        {
            Description = $"Message type to replay: {string.Join(", ", ReplayFilter.MessageTypes)}", Required = true,
        };
        var from = new Option<string?>("--from") { Description = "Only messages that occurred at or after this time (ISO 8601)" };
        var to = new Option<string?>("--to") { Description = "Only messages that occurred before this time (ISO 8601)" };
        var collection = new Option<string?>("--collection") { Description = "Only messages about this collection (id)" };
        var job = new Option<string?>("--job") { Description = "Only messages about this question job (id)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count the messages, publish nothing" };
        var json = CommonOptions.Json();

        var command = new Command("replay",
            "Republish messages from the event log (settings: VQA_POSTGRES, VQA_RABBITMQ_URL).\n\nExamples:\n" +
            "  vqa replay --type AnswersProduced --collection 0b9c… --json\n" +
            "  vqa replay --type ImageIngested --from 2026-11-27T09:00:00Z --to 2026-11-27T10:00:00Z --dry-run")
        {
            type, from, to, collection, job, dryRun, json,
        };

        console.SetAction(command, async (parse, cancellationToken) =>
        {
            var (filter, error) = ReplayFilter.Parse(parse.GetValue(type), parse.GetValue(from), parse.GetValue(to),
                parse.GetValue(collection), parse.GetValue(job));
            if (filter is null)
                throw new CliUsageException(error!);
            var replayer = new EventLogReplayer(ServiceDbContext.WithSearchPath(Setting("VQA_POSTGRES"), filter.Publisher));
            var matched = await replayer.CountAsync(filter, cancellationToken);
            var republished = 0;
            if (!parse.GetValue(dryRun) && matched > 0)
            {
                var progress = console.Progress(parse, "replay", "messages", matched);
                republished = await PublishAsync(replayer, filter, BrokerUrl(), progress, cancellationToken);
                progress.Finish();
            }

            if (parse.GetValue(json))
                console.WriteJson(new { republished, matched });
            else if (parse.GetValue(dryRun))
                console.Out.WriteLine($"{matched} {filter.MessageType} messages match (dry run: nothing published)");
            else
                console.Out.WriteLine($"republished {republished} {filter.MessageType} messages");
            return 0;
        });
        return command;
    }

    private static async Task<int> PublishAsync(EventLogReplayer replayer, ReplayFilter filter, Uri brokerUrl, IProgress<int> progress,
        CancellationToken cancellationToken)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(brokerUrl));
        await bus.StartAsync(cancellationToken);
        try
        {
            return await replayer.ReplayAsync(filter, bus, cancellationToken, progress);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private static Uri BrokerUrl()
    {
        var url = Environment.GetEnvironmentVariable("VQA_RABBITMQ_URL") is { Length: > 0 } value ? value : "amqp://guest:guest@127.0.0.1:5672/";
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps"
            ? uri
            : throw new CliUsageException($"VQA_RABBITMQ_URL '{url}' is not an amqp:// URL");
    }

    private static string Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new CliUsageException($"{name} is not set: eval \"$(infra/local/up.sh --infra-only)\" or set it like the services");
}
