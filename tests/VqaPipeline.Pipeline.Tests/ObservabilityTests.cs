using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Gateway;
using VqaPipeline.Messaging;
using VqaPipeline.Pipeline.Tests.Support;
using VqaPipeline.StackTesting;

namespace VqaPipeline.Pipeline.Tests;

/// <summary>
/// What an operator sees of one small pipeline run: the trace of an uploaded image across the services, the per-stage
/// metrics on every service's <c>/metrics</c>, and the Grafana dashboard built on them.
/// </summary>
public sealed partial class ObservabilityTests(ObservedStack observed) : IClassFixture<ObservedStack>
{
    /// <summary>The queue each stage's consumer spans carry (queues are named <c>&lt;service&gt;-…</c>).</summary>
    private static readonly string[] FollowedQueues =
        ["preprocessing-image-ingested", "inference-image-outcomes", "inference-image-batches", "indexing-answers-produced"];

    [StackFact]
    public async Task One_uploaded_image_is_one_trace_through_ingestion_preprocessing_inference_and_indexing()
    {
        var run = await observed.RunOnceAsync();

        // The last spans end after the answers are indexed: wait until the trace reaches indexing and nothing in it
        // waits for a parent; a broken hop never gets there.
        var trace = await WaitForTraceAsync(run.UploadTrace);

        var byService = trace.GroupBy(ServiceOf).Where(group => group.Key is not null).ToDictionary(group => group.Key!, group => group.ToList());
        string[] followed = [GatewayService.Name, Services.Ingestion, Services.Preprocessing, Services.Inference, Services.Indexing];
        Assert.Empty(followed.Except(byService.Keys)); // the services the upload's trace does not reach
        Assert.Contains(byService[Services.Ingestion], span => span.Kind == ActivityKind.Server
            && Equals(span.GetTagItem("http.request.method"), "POST") && span.GetTagItem("http.route") is string route && route.EndsWith("/images"));
        Assert.Empty(FollowedQueues.Except(trace.Select(QueueOf).OfType<string>())); // the queues it does not reach
        Assert.Contains(trace, span => span.Source.Name == TraceContext.SourceName && span.Kind == ActivityKind.Producer);
        Assert.Contains(trace, span => span.Source.Name == "MassTransit");
        Assert.Contains(trace, span => span.Source.Name == "Npgsql");

        var spanIds = trace.Select(span => span.SpanId).ToHashSet();
        var root = Assert.Single(trace, span => span.ParentSpanId == default);
        Assert.Equal("upload", root.OperationName);
        Assert.Empty(Orphans(trace, spanIds));
    }

    [StackFact]
    public async Task Every_service_exposes_the_per_stage_metrics_an_operator_alerts_on()
    {
        var run = await observed.RunOnceAsync();
        var exposed = await WaitForSeriesAsync(series =>
            series.Any(s => s.StartsWith("vqa_outbox_lag_seconds{") && s.Contains("service=\"indexing\"")));

        foreach (var queue in FollowedQueues)
            Assert.Contains(exposed, s => s.StartsWith("vqa_queue_depth{") && s.Contains($"queue=\"{queue}\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_ingestion_images_total{") && s.Contains("outcome=\"ingested\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_preprocessing_images_total{") && s.Contains("outcome=\"ready\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_preprocessing_images_total{") && s.Contains("outcome=\"rejected\"") && s.Contains("reason=\"Truncated\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_inference_images_total{") && s.Contains("outcome=\"answered\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_inference_pairs_total"));
        Assert.Contains(exposed, s => s.StartsWith("vqa_consumer_failures_total{") && s.Contains("reason=\"InvalidOperationException\""));
        foreach (var service in new[] { Services.Ingestion, Services.Preprocessing, Services.Inference, Services.Indexing, Services.Training })
            Assert.Contains(exposed, s => s.StartsWith("vqa_outbox_lag_seconds{") && s.Contains($"service=\"{service}\""));
        Assert.Contains(exposed, s => s.StartsWith("vqa_training_loss{") && s.Contains($"run_id=\"{run.TrainingRunId}\""));
    }

    [StackFact]
    public async Task Every_metric_the_grafana_dashboard_queries_is_exposed_by_some_service()
    {
        await observed.RunOnceAsync();
        var exposed = (await WaitForSeriesAsync(series => series.Any(s => s.StartsWith("vqa_queue_depth"))))
            .Select(series => MetricName().Match(series).Value).ToHashSet();

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(
            Path.Combine(Fixtures.RepositoryRoot, "infra", "grafana", "vqa-pipeline.json")));
        var expressions = Expressions(dashboard.RootElement).ToList();
        var queried = expressions.SelectMany(MetricsIn).ToHashSet();

        Assert.NotEmpty(expressions);
        Assert.Contains("vqa_queue_depth", queried);
        Assert.Empty(queried.Except(exposed));
    }

    private async Task<IReadOnlyList<Activity>> WaitForTraceAsync(ActivityTraceId traceId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var trace = observed.Spans.Trace(traceId);
            var spanIds = trace.Select(span => span.SpanId).ToHashSet();
            var complete = trace.Any(span => QueueOf(span) == "indexing-answers-produced") && !Orphans(trace, spanIds).Any();
            if (complete || DateTime.UtcNow > deadline)
                return trace;
            await Task.Delay(200);
        }
    }

    /// <summary>Spans whose parent is not in the trace, named for the failure message.</summary>
    private IEnumerable<string> Orphans(IReadOnlyList<Activity> trace, HashSet<ActivitySpanId> spanIds) =>
        trace.Where(span => span.ParentSpanId != default && !spanIds.Contains(span.ParentSpanId))
            .Select(span => $"{span.Source.Name}: {span.DisplayName} (service {ServiceOf(span) ?? "?"})");

    /// <summary>The queue a consumer span worked for (the inbox's and MassTransit's both name it).</summary>
    private static string? QueueOf(Activity span) =>
        span.Kind == ActivityKind.Consumer ? span.GetTagItem("messaging.destination.name") as string : null;

    /// <summary>
    /// The service a span ran in, by what it carries (all services share this process): a server span by the port it
    /// was served on, a consumer span by its queue.
    /// </summary>
    private string? ServiceOf(Activity span)
    {
        if (span.Kind == ActivityKind.Server && span.GetTagItem("server.port") is { } port)
            return ServiceStack.Services.Append(GatewayService.Name)
                .FirstOrDefault(service => observed.Stack.AddressOf(service).Port.ToString() == port.ToString());
        return QueueOf(span) is { } queue ? ServiceStack.Services.FirstOrDefault(service => queue.StartsWith($"{service}-")) : null;
    }

    /// <summary>Scrapes every service until <paramref name="ready"/> holds (gauges are measured on an interval).</summary>
    private async Task<IReadOnlyList<string>> WaitForSeriesAsync(Func<IReadOnlyList<string>, bool> ready)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var series = (await observed.ScrapeAsync()).Values
                .SelectMany(text => text.Split('\n'))
                .Where(line => line.Length > 0 && !line.StartsWith('#'))
                .ToList();
            if (ready(series) || DateTime.UtcNow > deadline)
                return series;
            await Task.Delay(250);
        }
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    yield return property.Value.GetString()!;
                foreach (var expression in Expressions(property.Value))
                    yield return expression;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
                foreach (var expression in Expressions(item))
                    yield return expression;
        }
    }

    /// <summary>
    /// The metric names a PromQL expression reads: identifiers left once label matchers, grouping clauses, ranges and
    /// strings are removed, other than functions (followed by a parenthesis), keywords and numbers.
    /// </summary>
    private static IEnumerable<string> MetricsIn(string expression)
    {
        var bare = Regex.Replace(expression, @"\{[^}]*\}|\[[^\]]*\]|""[^""]*""|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ");
        return Regex.Matches(bare, @"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()")
            .Select(match => match.Value)
            .Where(name => !PromQlWords.Contains(name));
    }

    private static readonly HashSet<string> PromQlWords =
        ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan"];

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex MetricName();
}
