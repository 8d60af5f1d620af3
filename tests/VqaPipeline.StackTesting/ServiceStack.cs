using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using VqaPipeline.Contracts.V1;
using VqaPipeline.Gateway;
using VqaPipeline.Gateway.Auth;
using VqaPipeline.Hosting;
using VqaPipeline.Indexing;
using VqaPipeline.Indexing.Data;
using VqaPipeline.Inference;
using VqaPipeline.Inference.Data;
using VqaPipeline.Ingestion;
using VqaPipeline.Ingestion.Data;
using VqaPipeline.Preprocessing;
using VqaPipeline.Preprocessing.Data;
using VqaPipeline.Storage;
using VqaPipeline.TestSupport;
using VqaPipeline.Training;
using VqaPipeline.Training.Data;

namespace VqaPipeline.StackTesting;

/// <summary>What a test's <see cref="ServiceStack"/> runs, and how.</summary>
public sealed record StackOptions
{
    /// <summary>Names the stack's RabbitMQ virtual host (<c>vqa-test-{purpose}-…</c>).</summary>
    public required string Purpose { get; init; }

    /// <summary>A broker of the test's own (a private node it stops and starts); by default a virtual host of its own.</summary>
    public string? BrokerUrl { get; init; }

    /// <summary>A PostgreSQL server of the test's own (its superuser's login) for the scratch database; by default the local stack's.</summary>
    public string? PostgresServer { get; init; }

    /// <summary>An object store of the test's own (a private server it stops and starts); by default the local stack's.</summary>
    public ObjectStoreOptions? Storage { get; init; }

    /// <summary>The services hosted in this process, besides the gateway (which always is): all by default.</summary>
    public IReadOnlyCollection<string> InProcess { get; init; } = ServiceStack.Services;

    /// <summary>Settings every service gets (configuration keys, <c>Section:Key</c>).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Settings of one service, over <see cref="Settings"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> ServiceSettings { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string?>>();

    /// <summary>Adds to a service's builder (test doubles), by service name.</summary>
    public Action<string, WebApplicationBuilder>? Configure { get; init; }

    /// <summary>Consumers a test adds to the ingestion or indexing bus, by service name.</summary>
    public Action<string, IBusRegistrationConfigurator>? ConfigureBus { get; init; }

    /// <summary>How long a service may take to become ready.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(120);
}

/// <summary>
/// The system on the real servers for one test fixture: a provisioned scratch database (each service logging in as its
/// own role), a RabbitMQ virtual host (or the test's own broker), the local object store, the services on ports of
/// their own and the gateway in front of them, exactly as a deployment wires them. Tests call the public API through
/// <see cref="Api"/> (the gateway) and look into any service's schema with the owner's login.
/// </summary>
public sealed class ServiceStack : IAsyncDisposable
{
    /// <summary>The services behind the gateway, in the order they start.</summary>
    public static readonly string[] Services =
        [Contracts.V1.Services.Ingestion, Contracts.V1.Services.Preprocessing, Contracts.V1.Services.Indexing,
         Contracts.V1.Services.Training, Contracts.V1.Services.Inference];

    private readonly StackOptions _options;
    private readonly ServiceDatabase _database;
    private readonly InProcessServices _services;
    private readonly List<WorkerProcess> _processes = [];
    private readonly Dictionary<string, int> _ports = Services.Append(GatewayService.Name).ToDictionary(name => name, _ => LocalPorts.Free());
    private readonly Dictionary<string, WebApplication> _hosts = new();
    private RabbitMqVirtualHost? _virtualHost;

    private ServiceStack(StackOptions options)
    {
        _options = options;
        _database = new ServiceDatabase { Server = options.PostgresServer };
        Store = new ObjectStore(options.Storage ?? ObjectStoreOptions.FromEnvironment());
        _services = new InProcessServices(options.Patience);
    }

    /// <summary>The AMQP URL every service and worker process of the stack uses.</summary>
    public string BrokerUrl => _options.BrokerUrl ?? _virtualHost?.Url ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>The database, with the owner's login (<see cref="ScratchDatabase.ConnectionString"/>) and the services' roles.</summary>
    public ServiceDatabase Database => _database;

    /// <summary>A client of the public API: the gateway, sending <see cref="ApiKey"/>.</summary>
    public HttpClient Api { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>The team the stack creates (<c>stack-{purpose}</c>) and whose admin key <see cref="Api"/> sends.</summary>
    public string Team => $"stack-{_options.Purpose}";

    /// <summary>The id of <see cref="Team"/>, which owns what <see cref="Api"/> creates.</summary>
    public Guid TeamId { get; private set; }

    /// <summary>An admin key of <see cref="Team"/>.</summary>
    public string ApiKey { get; private set; } = "";

    /// <summary>The operator's work on teams and keys (<c>vqa admin</c>), in this stack's database.</summary>
    public KeyAdministration Keys => new(_database.ConnectionString);

    /// <summary>
    /// A client of <paramref name="service"/> on its own port that sends what the gateway sends for <see cref="ApiKey"/>:
    /// the team's headers and the internal secret.
    /// </summary>
    public HttpClient DirectClient(string service)
    {
        var client = new HttpClient { BaseAddress = AddressOf(service) };
        using var headers = new HttpRequestMessage();
        GatewayHeaders.Forward(headers, new VqaPipeline.Hosting.Caller(TeamId, Team, "admin"), InternalSecret);
        foreach (var (name, values) in headers.Headers)
            client.DefaultRequestHeaders.Add(name, values);
        return client;
    }

    /// <summary>The secret the gateway shows the services it forwards to (<c>Gateway:InternalSecret</c>).</summary>
    public string InternalSecret { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The local object store (the bucket every service uses).</summary>
    public ObjectStore Store { get; }

    /// <summary>Where <paramref name="service"/> listens (its own port, as a deployment gives it one).</summary>
    public Uri AddressOf(string service) => new($"http://127.0.0.1:{_ports[service]}/");

    /// <summary>An in-process service's host (its DI container), to publish on its bus or read its settings.</summary>
    public WebApplication Host(string service) => _hosts[service];

    /// <summary>Starts the stack; when the local stack is not configured, nothing starts (every test is skipped).</summary>
    public static async Task<ServiceStack> StartAsync(StackOptions options)
    {
        var stack = new ServiceStack(options);
        await stack._database.InitializeAsync();
        if (LocalStack.Skipped)
            return stack;
        if (options.BrokerUrl is null)
            stack._virtualHost = await RabbitMqVirtualHost.CreateAsync(options.Purpose);
        foreach (var service in Services.Where(options.InProcess.Contains))
            await stack.StartServiceAsync(service);
        await stack.StartServiceAsync(GatewayService.Name);
        stack.Api.BaseAddress = stack.AddressOf(GatewayService.Name);
        stack.TeamId = await stack.Keys.CreateTeamAsync(stack.Team, ifAbsent: true);
        stack.ApiKey = (await stack.Keys.CreateKeyAsync(stack.Team, "admin", expiresAt: null)).Key;
        stack.Api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", stack.ApiKey);
        return stack;
    }

    /// <summary>
    /// <paramref name="service"/>'s settings in this stack: its own login, the broker, where the other services and the
    /// gateway are, then the test's settings; <paramref name="extra"/> over them.
    /// </summary>
    public Dictionary<string, string?> SettingsFor(string service, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["VQA_RABBITMQ_URL"] = BrokerUrl,
            // The alias, not Services:Api: a VQA_API_URL in the environment (up.sh exports one) would win over the key.
            ["VQA_API_URL"] = AddressOf(GatewayService.Name).ToString(),
            ["VQA_POSTGRES"] = _database.ConnectionStringFor(service),
            [GatewayAuth.InternalSecretSetting] = InternalSecret,
        };
        if (_options.Storage is { } storage)
        {
            settings["VQA_S3_ENDPOINT"] = storage.Endpoint.ToString();
            settings["VQA_S3_ACCESS_KEY"] = storage.AccessKey;
            settings["VQA_S3_SECRET_KEY"] = storage.SecretKey;
            settings["VQA_S3_BUCKET"] = storage.Bucket;
        }
        foreach (var other in Services)
            settings[$"Services:{char.ToUpperInvariant(other[0])}{other[1..]}"] = AddressOf(other).ToString();
        foreach (var (key, value) in _options.Settings)
            settings[key] = value;
        if (_options.ServiceSettings.TryGetValue(service, out var own))
            foreach (var (key, value) in own)
                settings[key] = value;
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
            settings[key] = value;
        return settings;
    }

    /// <summary>The built <paramref name="service"/> as a process of its own (a port of its own), once it is ready.</summary>
    public async Task<WorkerProcess> StartProcessAsync(string service, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var project = $"VqaPipeline.{char.ToUpperInvariant(service[0])}{service[1..]}";
        var process = WorkerProcess.Start(WorkerProcess.BuiltServiceDll(project), SettingsFor(service, extra));
        _processes.Add(process);
        await process.WaitUntilReadyAsync(_options.Patience);
        return process;
    }

    /// <summary>Stops the worker processes started so far (a test that counts only its own).</summary>
    public async Task StopProcessesAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        _processes.Clear();
    }

    public IngestionDbContext Ingestion() => IngestionDbContext.Open(_database.ConnectionString);

    public PreprocessingDbContext Preprocessing() => PreprocessingDbContext.Open(_database.ConnectionString);

    public InferenceDbContext Inference() => InferenceDbContext.Open(_database.ConnectionString);

    public TrainingDbContext Training() => TrainingDbContext.Open(_database.ConnectionString);

    public IndexingDbContext Indexing() => IndexingDbContext.Open(_database.ConnectionString);

    /// <summary>Starts <paramref name="service"/> in this process (one left out of <see cref="StackOptions.InProcess"/>).</summary>
    public async Task StartServiceAsync(string service)
    {
        var settings = SettingsFor(service);
        void Configure(WebApplicationBuilder builder)
        {
            builder.WebHost.UseUrls(AddressOf(service).ToString().TrimEnd('/'));
            builder.Configuration.AddInMemoryCollection(settings);
            _options.Configure?.Invoke(service, builder);
        }
        Action<IBusRegistrationConfigurator>? bus = _options.ConfigureBus is { } configureBus ? b => configureBus(service, b) : null;
        var app = service switch
        {
            Contracts.V1.Services.Ingestion => IngestionService.Build([], Configure, bus),
            Contracts.V1.Services.Preprocessing => PreprocessingService.Build([], Configure),
            Contracts.V1.Services.Indexing => IndexingService.Build([], Configure, bus),
            Contracts.V1.Services.Training => TrainingService.Build([], Configure),
            Contracts.V1.Services.Inference => InferenceService.Build([], Configure),
            _ => GatewayService.Build([], Configure),
        };
        _hosts[service] = app;
        await _services.StartAsync(app);
    }

    /// <summary>
    /// Stops the in-process <paramref name="service"/> as a deployment stops a pod: its hosted work is cancelled and its
    /// port closed; <see cref="StartServiceAsync"/> starts it again on the same port behind the gateway.
    /// </summary>
    public async Task StopServiceAsync(string service)
    {
        if (!_hosts.Remove(service, out var app))
            throw new InvalidOperationException($"{service} is not running in this process");
        await _services.StopAsync(app);
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await StopProcessesAsync();
        await _services.DisposeAsync();
        Store.Dispose();
        if (_virtualHost is not null)
            await _virtualHost.DisposeAsync();
        await _database.DisposeAsync();
    }
}
