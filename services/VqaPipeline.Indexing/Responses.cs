namespace VqaPipeline.Indexing;

/// <summary>The ranking <c>GET /search</c> answers with.</summary>
/// <param name="Question">The question as given.</param>
/// <param name="Answer">The answer as given.</param>
/// <param name="ModelVersion">The model whose answers were searched.</param>
/// <param name="Results">The matching images, best score first.</param>
public sealed record SearchResponse(string Question, string Answer, string ModelVersion, IReadOnlyList<SearchHit> Results);

/// <summary>One matching image with a short-lived URL of its original (none for answers indexed before messages carried it).</summary>
public sealed record SearchHit(Guid ImageId, string FileName, double Score, Uri? Url);

/// <summary>The question was never asked of the collection: a question job is answering it.</summary>
public sealed record SearchPending(Guid JobId, string StatusUrl);

/// <summary>The body of <c>POST /admin/replay</c>; times ISO 8601, ids GUIDs.</summary>
public sealed record ReplayRequest(string? Type, string? From, string? To, string? Collection, string? Job, bool DryRun = false);

/// <summary>How many logged messages a replay selected and how many it republished (none on a dry run).</summary>
public sealed record ReplayResponse(int Matched, int Republished);
