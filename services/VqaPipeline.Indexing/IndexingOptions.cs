namespace VqaPipeline.Indexing;

/// <summary>Settings of the indexing service (configuration section <c>Indexing</c>).</summary>
public sealed record IndexingOptions
{
    public const string Section = "Indexing";

    /// <summary>The queue <c>AnswersProduced</c> is consumed from; every worker sharing it shares the work.</summary>
    public string QueueName { get; set; } = "indexing-answers-produced";

    /// <summary>The queue <c>QuestionJobEnded</c> is consumed from.</summary>
    public string JobsQueueName { get; set; } = "indexing-jobs-ended";

    /// <summary>Most <c>AnswersProduced</c> messages indexed in one transaction.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Longest a partial batch waits for more messages.</summary>
    public TimeSpan BatchWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long the image URLs in search results work.</summary>
    public TimeSpan UrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The model a search's question job runs when the search names no model version; empty: the jobs API's default.</summary>
    public string? JobModel { get; set; }

    /// <summary>
    /// The bearer token <c>POST /admin/replay</c> requires; empty: replay is open to callers on this machine only
    /// (see <see cref="AdminAccess"/>).
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>How many ranked answers a search's question job asks for.</summary>
    public int JobTopK { get; set; } = 5;
}
