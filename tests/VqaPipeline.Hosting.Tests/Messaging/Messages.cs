namespace VqaPipeline.Hosting.Tests.Messaging;

public sealed record PingMessage(Guid Id, string Text);

public sealed record DoomedMessage(Guid Id);
