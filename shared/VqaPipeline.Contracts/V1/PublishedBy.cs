namespace VqaPipeline.Contracts.V1;

/// <summary>
/// The service that publishes a message: the one whose event log holds it as sent, so the one that replays it. Every
/// message of the contract names exactly one.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class PublishedByAttribute(string service) : Attribute
{
    /// <summary>The service's name (<c>ingestion</c>, <c>preprocessing</c>, <c>inference</c>, <c>training</c>, <c>indexing</c>).</summary>
    public string Service { get; } = service;
}

/// <summary>The services' names, as messages and schemas name them.</summary>
public static class Services
{
    public const string Ingestion = "ingestion";
    public const string Preprocessing = "preprocessing";
    public const string Inference = "inference";
    public const string Training = "training";
    public const string Indexing = "indexing";
}
