using System.Collections.Frozen;
using System.Reflection;
using VqaPipeline.Contracts.V1;

namespace VqaPipeline.Messaging;

/// <summary>One message type of the contract and the service that publishes it.</summary>
/// <param name="Name">The type's short name, as the event log records it.</param>
/// <param name="ClrType">The record type.</param>
/// <param name="Publisher">The service whose event log holds it as sent (and so replays it).</param>
public sealed record MessageType(string Name, Type ClrType, string Publisher);

/// <summary>
/// The list of message types, once: the records of <c>VqaPipeline.Contracts.V1</c> that carry a <c>SchemaVersion</c>
/// (the others are parts of messages), each with its <see cref="PublishedByAttribute"/>.
/// </summary>
public static class MessageCatalog
{
    private static readonly FrozenDictionary<string, MessageType> ByName = typeof(ContractVersion).Assembly.GetExportedTypes()
        .Where(type => type.Namespace == typeof(ContractVersion).Namespace && type is { IsClass: true, IsAbstract: false }
                       && type.GetProperty(nameof(ImageIngested.SchemaVersion)) is not null)
        .Select(type => new MessageType(type.Name, type, type.GetCustomAttribute<PublishedByAttribute>()?.Service
            ?? throw new InvalidOperationException($"{type.Name} names no publisher ([PublishedBy])")))
        .ToFrozenDictionary(type => type.Name, StringComparer.Ordinal);

    /// <summary>Every message type, by name.</summary>
    public static IReadOnlyList<MessageType> All { get; } = ByName.Values.OrderBy(type => type.Name, StringComparer.Ordinal).ToList();

    /// <summary>The message type named <paramref name="name"/>, or <c>null</c>.</summary>
    public static MessageType? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The names of the types <paramref name="service"/> publishes.</summary>
    public static IReadOnlyList<string> PublishedBy(string service) =>
        All.Where(type => type.Publisher == service).Select(type => type.Name).ToList();

    /// <summary>Whether <paramref name="type"/> is a message of the contract.</summary>
    public static bool Contains(Type type) => ByName.TryGetValue(type.Name, out var known) && known.ClrType == type;
}
