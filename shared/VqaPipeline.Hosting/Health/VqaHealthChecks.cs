namespace VqaPipeline.Hosting.Health;

/// <summary>
/// Names of the readiness checks. Each is resolved as a keyed <see cref="Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck"/>
/// service under its name, so a service or a test replaces one by registering its own under the same key.
/// </summary>
public static class VqaHealthChecks
{
    public const string Broker = "broker";
    public const string Database = "database";
    public const string Storage = "storage";

    /// <summary>Tag of the checks <c>/health/ready</c> runs (MassTransit tags its bus check the same way).</summary>
    public const string ReadyTag = "ready";
}
