namespace VqaPipeline.Hosting;

/// <summary>
/// The body of every API error as a client reads it: RFC 7807 problem details (<c>application/problem+json</c>) written
/// by <see cref="ApiProblem"/>. <see cref="Detail"/> is the sentence saying what was wrong; <see cref="Error"/> repeats
/// it for clients written before problem details (kept one release).
/// </summary>
public sealed record ErrorResponse(string? Type, string? Title, int? Status, string? Detail, string? TraceId, string? Error)
{
    /// <summary>What a client shows: the detail, else the old error member, else the title.</summary>
    public string Message => Detail ?? Error ?? Title ?? "";
}
