namespace VqaPipeline.Hosting;

/// <summary>An error body of every API: one line saying what was wrong.</summary>
public sealed record ErrorResponse(string Error);
