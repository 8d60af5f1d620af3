using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Hosting.Tests.Support;
using VqaPipeline.Messaging;
using EventLogEntry = VqaPipeline.Messaging.EventLogEntry;

namespace VqaPipeline.Hosting.Tests.Outbox;

/// <summary>
/// The outbox and the inbox filter against the real PostgreSQL and RabbitMQ: each test has a database and a RabbitMQ
/// virtual host of its own, so the <see cref="ImageRejected"/> messages it publishes reach no other test's services.
/// </summary>
public sealed class OutboxDispatcherTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly MigratedDatabase _database = new();
    private readonly Received _received = new();
    private readonly List<TestService> _services = [];
    private RabbitMqVirtualHost? _virtualHost;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        if (!LocalStack.Skipped)
            _virtualHost = await RabbitMqVirtualHost.CreateAsync("outbox");
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
            await service.DisposeAsync();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
    }

    [StackFact]
    public async Task Rows_committed_while_no_dispatcher_ran_are_published_with_their_ids_when_a_host_starts()
    {
        var url = _virtualHost!.Url;
        var written = await CommitOutgoingAsync(_database.NewContext(), 5);
        // The consumer's queue must be bound before anything is published, or RabbitMQ drops the message.
        await StartServiceAsync(url, consume: true, dispatch: false);
        await Task.Delay(500);
        Assert.All(written, w => Assert.Equal(0, _received.Count(w.MessageId)));

        await StartServiceAsync(url, consume: false);

        await WaitUntilAsync(() => written.All(w => _received.Count(w.MessageId) == 1), "every row received");
        foreach (var (messageId, message) in written)
            Assert.Equal((message, message.ImageId), _received.Of(messageId));
        await WaitUntilAsync(async () => await PendingAsync() == 0, "every row marked dispatched");
    }

    [StackFact]
    public async Task Two_dispatchers_on_one_database_send_each_row_exactly_once()
    {
        var url = _virtualHost!.Url;
        await StartServiceAsync(url, consume: true);
        await StartServiceAsync(url, consume: false);

        var written = new List<(Guid MessageId, ImageRejected Message)>();
        for (var commit = 0; commit < 6; commit++)
            written.AddRange(await CommitOutgoingAsync(_database.NewContext(), 50));

        await WaitUntilAsync(async () => await PendingAsync() == 0 && written.All(w => _received.Count(w.MessageId) > 0),
            "every row dispatched and received");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second copy would arrive by now
        Assert.All(written, w => Assert.Equal(1, _received.Count(w.MessageId)));
    }

    [StackFact]
    public async Task A_commit_wakes_the_dispatcher_without_waiting_for_the_poll()
    {
        var service = await StartServiceAsync(_virtualHost!.Url, consume: true,
            pollInterval: TimeSpan.FromHours(1));
        await Task.Delay(500); // the dispatcher's first pass is over; only a wake-up brings it back

        await using var scope = service.App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MessagingOnlyDbContext>();
        var plain = await CommitOutgoingAsync(db, 3);
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            var inTransaction = await CommitOutgoingAsync(db, 3);
            await Task.Delay(300);
            Assert.All(inTransaction, w => Assert.Equal(0, _received.Count(w.MessageId))); // not committed yet
            await transaction.CommitAsync();
            plain.AddRange(inTransaction);
        }

        await WaitUntilAsync(() => plain.All(w => _received.Count(w.MessageId) == 1), "every row received", TimeSpan.FromSeconds(5));
    }

    [StackFact]
    public async Task Messages_wait_while_the_broker_is_down_and_all_go_out_once_it_is_back()
    {
        await using var broker = await PrivateRabbitMq.StartNewAsync();
        var service = await StartServiceAsync(broker.Url.ToString(), consume: true);

        await broker.StopAsync();
        await using (var scope = service.App.Services.CreateAsyncScope())
        {
            var written = await CommitOutgoingAsync(scope.ServiceProvider.GetRequiredService<MessagingOnlyDbContext>(), 40);
            await Task.Delay(TimeSpan.FromSeconds(3)); // the dispatcher tries, fails and backs off
            Assert.Equal(40, await PendingAsync());

            await broker.StartAsync();

            await WaitUntilAsync(async () => await PendingAsync() == 0 && written.All(w => _received.Count(w.MessageId) > 0),
                "every row dispatched and received after the broker came back", TimeSpan.FromSeconds(60));
            Assert.All(written, w => Assert.Equal(1, _received.Count(w.MessageId)));
        }
        using var live = await service.GetAsync(ServiceDefaults.LivePath);
        Assert.True(live.IsSuccessStatusCode);
    }

    [StackFact]
    public async Task A_message_delivered_twice_runs_its_consumer_once_and_is_logged_as_consumed_once()
    {
        var service = await StartServiceAsync(_virtualHost!.Url, consume: true, dispatch: false);
        var message = new ImageRejected(Guid.NewGuid(), Guid.NewGuid(), "sent twice");
        var messageId = Guid.NewGuid();
        var bus = service.App.Services.GetRequiredService<IPublishEndpoint>();

        await bus.Publish(message, context => context.MessageId = messageId);
        await bus.Publish(message, context => context.MessageId = messageId);
        await WaitUntilAsync(() => _received.Count(messageId) == 1, "the message consumed");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the second copy would be consumed by now

        Assert.Equal(1, _received.Count(messageId));
        await using var db = _database.NewContext();
        var logged = await db.EventLog.SingleAsync(e => e.MessageId == messageId);
        Assert.Equal((MessageDirection.Consumed, message.CollectionId, message.ImageId), (logged.Direction, logged.CollectionId, logged.ImageId));
        Assert.Single(await db.InboxMessages.Where(m => m.MessageId == messageId).ToListAsync());
    }

    [StackFact]
    public async Task The_trace_of_the_work_that_sent_a_message_continues_in_its_consumer_through_the_outbox()
    {
        await StartServiceAsync(_virtualHost!.Url, consume: true);
        using var work = new Activity("upload").Start();

        var written = await CommitOutgoingAsync(_database.NewContext(), 1);
        work.Stop();

        await WaitUntilAsync(() => _received.Count(written[0].MessageId) == 1, "the message received");
        Assert.Equal(work.TraceId, _received.TraceOf(written[0].MessageId));
        await using var db = _database.NewContext();
        var consumed = await db.EventLog.SingleAsync(e => e.MessageId == written[0].MessageId && e.Direction == MessageDirection.Consumed);
        Assert.Contains(work.TraceId.ToHexString(), consumed.TraceParent);
    }

    [StackFact]
    public async Task A_row_that_cannot_be_published_is_parked_with_its_reason_and_the_rows_after_it_go_out()
    {
        var service = await StartServiceAsync(_virtualHost!.Url, consume: true, maxAttempts: 3);
        await using var db = _database.NewContext();
        var before = await CommitOutgoingAsync(db, 2);
        // A body that no longer reads as its type, and a command to a queue name the bus refuses.
        var unreadable = db.EventLog.Add(EventLogEntry.Of(Guid.NewGuid(), new ImageRejected(Guid.NewGuid(), Guid.NewGuid(), "x"),
            DateTimeOffset.UtcNow, MessageDirection.Published)).Entity;
        unreadable.Body = """{"collectionId": "not a uuid", "imageId": 42}""";
        var misaddressed = db.EventLog.Add(EventLogEntry.Of(Guid.NewGuid(), new ImageRejected(Guid.NewGuid(), Guid.NewGuid(), "y"),
            DateTimeOffset.UtcNow, MessageDirection.Published)).Entity;
        misaddressed.Destination = "no such queue!";
        await db.SaveChangesAsync();
        var after = await CommitOutgoingAsync(db, 5);

        await WaitUntilAsync(() => before.Concat(after).All(w => _received.Count(w.MessageId) == 1), "the rows around the poison received");
        await WaitUntilAsync(async () => await PendingAsync() == 0, "the poison rows parked");

        await using var check = _database.NewContext();
        foreach (var (poison, reason) in new[] { (unreadable, "does not read as ImageRejected"), (misaddressed, "no such queue!") })
        {
            var parked = await check.EventLog.SingleAsync(e => e.Id == poison.Id);
            Assert.Equal((3, (DateTimeOffset?)null), (parked.PublishAttempts, parked.DispatchedAt));
            Assert.NotNull(parked.ParkedAt);
            Assert.Contains(reason, parked.LastError);
            Assert.Equal(0, _received.Count(parked.MessageId));
        }
        using var metrics = await service.GetAsync(ServiceDefaults.MetricsPath);
        Assert.Matches("""vqa_outbox_parked_total\{[^}]*message_type="ImageRejected"\} 2""", await metrics.Content.ReadAsStringAsync());

        var later = await CommitOutgoingAsync(db, 3);
        await WaitUntilAsync(() => later.All(w => _received.Count(w.MessageId) == 1), "rows committed after the parking received");
    }

    private async Task<TestService> StartServiceAsync(string brokerUrl, bool consume, bool dispatch = true, TimeSpan? pollInterval = null,
        int maxAttempts = 5)
    {
        var queue = TestService.UniqueName("outbox-tests");
        var service = await TestService.StartAsync(
            new Dictionary<string, string?>
            {
                ["VQA_RABBITMQ_URL"] = brokerUrl,
                ["Outbox:PollInterval"] = (pollInterval ?? TimeSpan.FromMilliseconds(200)).ToString(),
                ["Outbox:PublishTimeout"] = "00:00:02",
                ["Outbox:MaxRetryDelay"] = "00:00:01",
                ["Outbox:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Warning",
            },
            bus =>
            {
                if (consume)
                    bus.AddConsumer<Received.Consumer>().Endpoint(endpoint => endpoint.Name = queue);
            },
            services =>
            {
                services.AddSingleton(_received).AddDbContext<MessagingOnlyDbContext>(options => options.UseNpgsql(
                    Data.ServiceDbContext.WithSearchPath(_database.ConnectionString, MessagingOnlyDbContext.SchemaName)));
                services.AddVqaInbox<MessagingOnlyDbContext>();
                if (dispatch)
                    services.AddVqaOutbox<MessagingOnlyDbContext>();
            });
        _services.Add(service);
        (await service.WaitUntilReadyAsync(Patience)).Dispose();
        return service;
    }

    /// <summary>Adds <paramref name="count"/> outgoing messages with <paramref name="db"/> and saves them.</summary>
    private static async Task<List<(Guid MessageId, ImageRejected Message)>> CommitOutgoingAsync(MessagingOnlyDbContext db, int count)
    {
        var written = new List<(Guid, ImageRejected)>();
        for (var i = 0; i < count; i++)
        {
            var message = new ImageRejected(Guid.NewGuid(), Guid.NewGuid(), $"outbox test {i}");
            written.Add((db.AddOutgoing(message), message));
        }
        await db.SaveChangesAsync();
        return written;
    }

    private async Task<int> PendingAsync()
    {
        await using var db = _database.NewContext();
        return await db.EventLog.CountAsync(e => e.Direction == MessageDirection.Published && e.DispatchedAt == null && e.ParkedAt == null);
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? limit = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, limit);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > (limit ?? Patience))
                throw new TimeoutException($"not true after {limit ?? Patience}: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Every <see cref="ImageRejected"/> received, by message id, with how often it came.</summary>
    private sealed class Received
    {
        private readonly ConcurrentDictionary<Guid, (int Count, ImageRejected Message, Guid? CorrelationId, ActivityTraceId? TraceId)> _byId = new();

        public int Count(Guid messageId) => _byId.TryGetValue(messageId, out var seen) ? seen.Count : 0;

        public (ImageRejected, Guid?) Of(Guid messageId) => (_byId[messageId].Message, _byId[messageId].CorrelationId);

        /// <summary>The trace the consumer ran in.</summary>
        public ActivityTraceId? TraceOf(Guid messageId) => _byId[messageId].TraceId;

        public sealed class Consumer(Received received) : IConsumer<ImageRejected>
        {
            public Task Consume(ConsumeContext<ImageRejected> context)
            {
                var trace = Activity.Current?.TraceId;
                received._byId.AddOrUpdate(context.MessageId!.Value,
                    _ => (1, context.Message, context.CorrelationId, trace),
                    (_, seen) => (seen.Count + 1, seen.Message, seen.CorrelationId, seen.TraceId));
                return Task.CompletedTask;
            }
        }
    }
}
