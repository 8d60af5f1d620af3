namespace VqaPipeline.Hosting;

/// <summary>RabbitMQ connection and consumer behaviour (configuration section <c>Broker</c>, or <c>VQA_RABBITMQ_URL</c>).</summary>
public sealed record BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>AMQP URL with credentials and virtual host, e.g. <c>amqp://guest:guest@127.0.0.1:5672/</c>.</summary>
    public Uri Url { get; set; } = new("amqp://guest:guest@127.0.0.1:5672/");

    /// <summary>Messages each receive endpoint takes from the broker ahead of processing.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>
    /// The AMQP heartbeat interval asked of the broker; null keeps MassTransit's default. The broker drops a
    /// connection that missed two heartbeats and gives its unacknowledged messages to other consumers: a shorter interval
    /// frees the work of a worker whose host vanished sooner (docs/limits.md, "Worker hosts that disappear").
    /// </summary>
    public TimeSpan? Heartbeat { get; set; }

    // The same section also holds RetryLimit, RetryMinInterval, RetryMaxInterval, RedeliveryIntervals and
    // DeliveryLimit: what a consumer does when it fails (VqaPipeline.Messaging's DelayedRedeliveryOptions).
}

/// <summary>PostgreSQL (configuration section <c>Database</c>, or <c>VQA_POSTGRES</c>).</summary>
public sealed record DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>
    /// Npgsql connection string, logging in as the service's own role (<c>vqa_{service}</c>, which owns the service's
    /// schema and nothing else; see provision.sql); when empty the service has no database and readiness does not
    /// check one.
    /// </summary>
    public string? ConnectionString { get; set; }
}

/// <summary>S3-compatible object store (configuration section <c>Storage</c>, or the <c>VQA_S3_*</c> variables).</summary>
public sealed record StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Endpoint URL, e.g. <c>http://127.0.0.1:9000</c>; when empty readiness does not check storage.</summary>
    public Uri? Endpoint { get; set; }

    public string AccessKey { get; set; } = "";

    public string SecretKey { get; set; } = "";

    public string Bucket { get; set; } = "vqa-images";
}

/// <summary>Logging, health and shutdown settings every service shares (configuration section <c>Service</c>).</summary>
public sealed record ServiceOptions
{
    public const string Section = "Service";

    /// <summary>Seq server to send logs to besides the console (<c>VQA_SEQ_URL</c>); none when empty.</summary>
    public Uri? SeqUrl { get; set; }

    /// <summary>
    /// The API key the logs are sent to Seq with (<c>VQA_SEQ_API_KEY</c>), for a Seq that takes events only with one;
    /// none when empty.
    /// </summary>
    public string? SeqApiKey { get; set; }

    /// <summary>
    /// Longest a request to Seq may take, so an unresponsive Seq never holds up start or shutdown; the final flush at
    /// shutdown makes up to two requests (measured: 2 s gives a 4 s stop, 8 s a 16 s stop, against a silent Seq).
    /// </summary>
    public TimeSpan SeqTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest a single readiness check may take before it counts as unhealthy.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Time in-flight work gets to finish once the host is asked to stop.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>The <c>VQA_*</c> environment variable names (see infra/local/settings.sh) and the settings they set.</summary>
public static class VqaEnvironment
{
    /// <summary>Sets the settings named by the <c>VQA_*</c> variables <paramref name="configuration"/> holds.</summary>
    public static void Apply(Microsoft.Extensions.Configuration.IConfigurationManager configuration) =>
        Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(configuration,
            ConfigurationKeys.Where(pair => !string.IsNullOrEmpty(configuration[pair.Key]))
                .Select(pair => KeyValuePair.Create(pair.Value, configuration[pair.Key])).ToList());

    public static IReadOnlyDictionary<string, string> ConfigurationKeys { get; } = new Dictionary<string, string>
    {
        ["VQA_RABBITMQ_URL"] = $"{BrokerOptions.Section}:{nameof(BrokerOptions.Url)}",
        ["VQA_RABBITMQ_PREFETCH"] = $"{BrokerOptions.Section}:{nameof(BrokerOptions.PrefetchCount)}",
        ["VQA_POSTGRES"] = $"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}",
        ["VQA_S3_ENDPOINT"] = $"{StorageOptions.Section}:{nameof(StorageOptions.Endpoint)}",
        ["VQA_S3_ACCESS_KEY"] = $"{StorageOptions.Section}:{nameof(StorageOptions.AccessKey)}",
        ["VQA_S3_SECRET_KEY"] = $"{StorageOptions.Section}:{nameof(StorageOptions.SecretKey)}",
        ["VQA_S3_BUCKET"] = $"{StorageOptions.Section}:{nameof(StorageOptions.Bucket)}",
        ["VQA_SEQ_URL"] = $"{ServiceOptions.Section}:{nameof(ServiceOptions.SeqUrl)}",
        ["VQA_SEQ_API_KEY"] = $"{ServiceOptions.Section}:{nameof(ServiceOptions.SeqApiKey)}",
        ["VQA_API_URL"] = $"{ServiceAddresses.Section}:{nameof(ServiceAddresses.Api)}",
    };
}
