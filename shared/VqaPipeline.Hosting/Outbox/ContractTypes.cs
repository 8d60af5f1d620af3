using System.Collections.Frozen;
using VqaPipeline.Contracts.V1;

namespace VqaPipeline.Hosting.Outbox;

/// <summary>
/// The message types of the current contract version by short name, as the event log records them: the records of
/// <c>VqaPipeline.Contracts.V1</c> that carry a <c>SchemaVersion</c> (the others are parts of messages).
/// </summary>
internal static class ContractTypes
{
    public static FrozenDictionary<string, Type> ByName { get; } = typeof(ImageIngested).Assembly.GetExportedTypes()
        .Where(type => type.Namespace == typeof(ImageIngested).Namespace && type.GetProperty("SchemaVersion") is not null)
        .ToFrozenDictionary(type => type.Name);
}
