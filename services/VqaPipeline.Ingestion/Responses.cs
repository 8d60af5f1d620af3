namespace VqaPipeline.Ingestion;

/// <summary>A collection as the API lists it.</summary>
public sealed record CollectionResponse(Guid Id, string Name);

/// <summary>The body of <c>POST /collections</c>.</summary>
public sealed record CreateCollectionRequest(string? Name);

/// <summary>The body of <c>POST /collections/{id}/images/urls</c>.</summary>
public sealed record IngestUrlsRequest(IReadOnlyList<string>? Urls);

/// <summary>An image that was stored (or already was, for a duplicate).</summary>
public sealed record IngestedImage(Guid ImageId, string FileName, string Sha256);

/// <summary>A file or URL that was not ingested, and why.</summary>
public sealed record RefusedFile(string FileName, string Reason);

/// <summary>What became of each file of one ingest request.</summary>
public sealed record IngestResponse(
    IReadOnlyList<IngestedImage> Accepted, IReadOnlyList<IngestedImage> Duplicates, IReadOnlyList<RefusedFile> Refused);

/// <summary>One image of a collection as the API lists it.</summary>
public sealed record ImageResponse(
    Guid ImageId, string FileName, string Sha256, string Status, string? Reason, int? Width, int? Height);

/// <summary>Collects the outcome of every file of one request, in arrival order.</summary>
internal sealed class IngestReport
{
    private readonly List<IngestedImage> _accepted = [];
    private readonly List<IngestedImage> _duplicates = [];
    private readonly List<RefusedFile> _refused = [];

    public void Accept(IngestedImage image) => _accepted.Add(image);

    public void Duplicate(IngestedImage image) => _duplicates.Add(image);

    public void Refuse(string fileName, string reason) => _refused.Add(new RefusedFile(fileName, reason));

    public IngestResponse ToResponse() => new(_accepted, _duplicates, _refused);
}
