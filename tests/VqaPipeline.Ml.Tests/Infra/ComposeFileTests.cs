using YamlDotNet.RepresentationModel;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>
/// docker-compose.yml cannot be started here (no Docker engine), so its shape is checked instead: every server of the
/// stack, with a health check, its data in a declared named volume, valid depends_on conditions, each service on its
/// own database role, the gateway in front and the only service published, and every credential taken from the .env
/// the user writes (.env.example lists them), never written in the file.
/// </summary>
public partial class ComposeFileTests
{
    private static readonly string[] Servers = ["rabbitmq", "postgres", "minio", "seq"];
    private static readonly string[] DependencyConditions =
        ["service_started", "service_healthy", "service_completed_successfully"];

    private static readonly YamlMappingNode Compose = LoadCompose();
    private static readonly YamlMappingNode Services = (YamlMappingNode)Compose["services"];
    private static readonly IReadOnlyDictionary<string, string> Defaults = LocalStackSettings.ScriptDefaults();

    public static TheoryData<string> ServerNames => new(Servers);

    [Theory]
    [MemberData(nameof(ServerNames))]
    public void EveryServerHasAnImageAHealthCheckAndANamedVolume(string server)
    {
        var service = Service(server);

        Assert.False(string.IsNullOrWhiteSpace(Scalar(service, "image")), $"{server} has no image");
        var test = Assert.IsType<YamlSequenceNode>(((YamlMappingNode)service["healthcheck"])["test"]);
        Assert.Equal("CMD", test.Children[0].ToString());
        Assert.Contains(Mounts(service), mount => NamedVolume(mount) is not null);
    }

    /// <summary>Every service built from this repository (it has a <c>build</c> section).</summary>
    public static TheoryData<string> ApplicationServices => new(
        Services.Children.Where(pair => ((YamlMappingNode)pair.Value).Children.ContainsKey("build")).Select(pair => pair.Key.ToString()));

    /// <summary>The services behind the gateway: each owns a schema. Profile variants (inference-gpu) are checked
    /// against the service they stand in for.</summary>
    public static TheoryData<string> OwningServices => new(
        Services.Children.Where(pair => ((YamlMappingNode)pair.Value).Children.ContainsKey("build") && pair.Key.ToString() != "gateway"
                && !((YamlMappingNode)pair.Value).Children.ContainsKey("profiles"))
            .Select(pair => pair.Key.ToString()));

    [Theory]
    [MemberData(nameof(OwningServices))]
    public void EveryServiceBuildsFromItsDockerfileAndWaitsForTheServersItUsesAndItsSchema(string name)
    {
        var service = Service(name);

        var build = (YamlMappingNode)service["build"];
        Assert.Equal("services/Dockerfile", Scalar(build, "dockerfile"));
        // The one Dockerfile builds the project the SERVICE argument names: this service's own.
        var project = Assert.IsType<string>(BuiltProject(name));
        Assert.Equal(name, project.ToLowerInvariant());
        Assert.True(File.Exists(Path.Combine(Fixtures.RepositoryRoot, "services", $"VqaPipeline.{project}", $"VqaPipeline.{project}.csproj")),
            $"{name}: no project VqaPipeline.{project}");
        var environment = (YamlMappingNode)service["environment"];
        foreach (var setting in LocalStack.Variables)
            Assert.True(environment.Children.ContainsKey(setting), $"{name} lacks {setting}");
        var dependsOn = (YamlMappingNode)service["depends_on"];
        foreach (var server in new[] { "rabbitmq", "postgres", "minio" })
            Assert.Equal("service_healthy", Scalar((YamlMappingNode)dependsOn[server], "condition"));
        foreach (var step in new[] { "minio-init", "db-provision" })
            Assert.Equal("service_completed_successfully", Scalar((YamlMappingNode)dependsOn[step], "condition"));
    }

    [Theory]
    [MemberData(nameof(OwningServices))]
    public void EveryServiceLogsInAsItsOwnRoleAndKnowsWhereTheOthersAndThePublicUrlAre(string name)
    {
        var environment = (YamlMappingNode)Service(name)["environment"];

        Assert.Contains($"Username=vqa_{name};", Scalar(environment, "VQA_POSTGRES"));
        Assert.Equal("http://127.0.0.1:5080", Scalar(environment, "VQA_API_URL"));
        foreach (var owner in new[] { "ingestion", "inference", "training", "indexing" })
            Assert.Equal($"http://{owner}:8080", Scalar(environment, $"Services__{char.ToUpperInvariant(owner[0])}{owner[1..]}"));
    }

    [Fact]
    public void The_gateway_is_the_public_base_url_and_routes_to_every_owner_once_they_are_healthy()
    {
        var gateway = Service("gateway");

        Assert.Contains("5080:8080", Ports("gateway"));
        var environment = (YamlMappingNode)gateway["environment"];
        var dependsOn = (YamlMappingNode)gateway["depends_on"];
        foreach (var owner in new[] { "ingestion", "inference", "training", "indexing" })
        {
            Assert.Equal($"http://{owner}:8080", Scalar(environment, $"Services__{char.ToUpperInvariant(owner[0])}{owner[1..]}"));
            Assert.Equal("service_healthy", Scalar((YamlMappingNode)dependsOn[owner], "condition"));
        }
        // Teams and keys: its own schema, under its own role, once the roles are provisioned.
        Assert.Contains("Username=vqa_gateway;", Scalar(environment, "VQA_POSTGRES"));
        Assert.Equal("service_completed_successfully", Scalar((YamlMappingNode)dependsOn["db-provision"], "condition"));
    }

    [Fact]
    public void The_roles_and_schemas_are_provisioned_with_the_script_the_local_stack_runs()
    {
        var provision = Service("db-provision");

        Assert.Equal("service_healthy", Scalar((YamlMappingNode)((YamlMappingNode)provision["depends_on"])["postgres"], "condition"));
        Assert.Contains("./shared/VqaPipeline.Data/Provisioning/provision.sql:/provision.sql:ro", Mounts(provision));
        Assert.Contains("-f /provision.sql", string.Join(" ", ((YamlSequenceNode)provision["entrypoint"]).Children));
        Assert.Equal(RequiredVariable("VQA_POSTGRES_SERVICE_PASSWORD"), Scalar((YamlMappingNode)provision["environment"], "VQA_POSTGRES_SERVICE_PASSWORD"));
    }

    [Theory]
    [MemberData(nameof(ApplicationServices))]
    public void EveryServiceChecksItsReadinessWithItsOwnBinaryOnItsContainerPort(string name)
    {
        var service = Service(name);

        // The aspnet runtime image has no curl or wget: the probe is the service's dll with --health-check.
        var test = ((YamlSequenceNode)((YamlMappingNode)service["healthcheck"])["test"]).Children.Select(node => node.ToString()).ToList();
        var dockerfile = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, Scalar((YamlMappingNode)service["build"], "dockerfile")!));
        var entrypoint = System.Text.Json.JsonSerializer.Deserialize<string[]>(
            System.Text.RegularExpressions.Regex.Match(dockerfile, @"^ENTRYPOINT (\[.*\])\s*$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value)!;
        string[] program;
        if (BuiltProject(name) is { } project)
        {
            // The shared Dockerfile's entry point runs the dll its SERVICE argument names.
            Assert.Contains("VQA_SERVICE=${SERVICE}", dockerfile);
            Assert.Contains("exec dotnet VqaPipeline.$VQA_SERVICE.dll", string.Join(' ', entrypoint));
            program = ["dotnet", $"VqaPipeline.{project}.dll"];
        }
        else
        {
            program = entrypoint;
        }
        var containerPort = ContainerPort(name);
        Assert.Equal(["CMD", .. program, "--health-check", $"http://127.0.0.1:{containerPort}/health/ready"], test);
        Assert.Contains($"EXPOSE {containerPort}", dockerfile);
    }

    [Fact]
    public void The_gpu_profile_runs_inference_with_the_cuda_build_as_the_same_role_and_queue()
    {
        var cpu = Service("inference");
        var gpu = Service("inference-gpu");

        Assert.Equal("gpu", Assert.Single(((YamlSequenceNode)gpu["profiles"]).Children).ToString());
        var dockerfile = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, Scalar((YamlMappingNode)gpu["build"], "dockerfile")!));
        Assert.Contains("-p:OnnxRuntimeGpu=true", dockerfile);
        var cpuEnvironment = (YamlMappingNode)cpu["environment"];
        var gpuEnvironment = (YamlMappingNode)gpu["environment"];
        foreach (var setting in new[] { "VQA_POSTGRES", "VQA_RABBITMQ_URL", "VQA_S3_ENDPOINT", "VQA_S3_BUCKET", "VQA_API_URL" })
            Assert.Equal(Scalar(cpuEnvironment, setting), Scalar(gpuEnvironment, setting));
        Assert.Equal("cuda", Scalar(gpuEnvironment, "Inference__Device"));
        var device = (YamlMappingNode)Assert.Single(((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)gpu["deploy"])["resources"])["reservations"])["devices"]).Children);
        Assert.Equal("nvidia", Scalar(device, "driver"));
    }

    [Fact]
    public void EveryNamedVolumeMountIsDeclared()
    {
        var declared = ((YamlMappingNode)Compose["volumes"]).Children.Keys.Select(key => key.ToString()).ToHashSet();

        var mounted = Services.Children.Values.Cast<YamlMappingNode>().SelectMany(Mounts)
            .Select(NamedVolume).OfType<string>().ToList();

        Assert.NotEmpty(mounted);
        Assert.All(mounted, volume => Assert.Contains(volume, declared));
    }

    [Fact]
    public void DependenciesNameAConditionTheTargetCanMeet()
    {
        foreach (var (name, service) in Services.Children.Select(entry => (entry.Key.ToString(), (YamlMappingNode)entry.Value)))
        {
            if (!service.Children.TryGetValue("depends_on", out var dependsOn)) continue;
            foreach (var (target, dependency) in ((YamlMappingNode)dependsOn).Children)
            {
                var condition = Scalar((YamlMappingNode)dependency, "condition");
                Assert.Contains(condition, DependencyConditions);
                if (condition == "service_healthy")
                    Assert.True(Service(target.ToString()).Children.ContainsKey("healthcheck"),
                        $"{name} waits for {target} to be healthy, but {target} has no health check");
            }
        }
    }

    [Fact]
    public void TheBucketIsCreatedOnceMinioIsHealthy()
    {
        var init = Service("minio-init");

        var dependency = (YamlMappingNode)((YamlMappingNode)init["depends_on"])["minio"];
        Assert.Equal("service_healthy", Scalar(dependency, "condition"));
        var script = string.Join(" ", ((YamlSequenceNode)init["entrypoint"]).Children);
        Assert.Contains($"mc mb --ignore-existing vqa/{Defaults["VQA_S3_BUCKET"]}", script);
        Assert.Contains("\"$$VQA_S3_ACCESS_KEY\" \"$$VQA_S3_SECRET_KEY\"", script);
        var environment = (YamlMappingNode)init["environment"];
        Assert.Equal(RequiredVariable("VQA_S3_ACCESS_KEY"), Scalar(environment, "VQA_S3_ACCESS_KEY"));
        Assert.Equal(RequiredVariable("VQA_S3_SECRET_KEY"), Scalar(environment, "VQA_S3_SECRET_KEY"));
    }

    [Fact]
    public void Only_the_gateway_is_published_and_what_a_person_on_the_host_needs_listens_on_loopback_only()
    {
        var published = Services.Children.Where(pair => ((YamlMappingNode)pair.Value).Children.ContainsKey("ports"))
            .ToDictionary(pair => pair.Key.ToString(), pair => Ports(pair.Key.ToString()).ToList());

        Assert.Equal(["5080:8080"], published["gateway"]);
        // PostgreSQL for `vqa admin` (teams and keys) and Seq's UI (the logs): this machine only.
        Assert.Equal([$"127.0.0.1:{Defaults["VQA_POSTGRES_PORT"]}:5432"], published["postgres"]);
        Assert.Equal(["127.0.0.1:5341:80"], published["seq"]);
        Assert.Equal(["gateway", "postgres", "seq"], published.Keys.Order());
    }

    [Fact]
    public void Every_credential_is_a_required_variable_from_the_env_file_and_none_is_written_in_the_file()
    {
        var checkedSettings = 0;
        foreach (var (name, service) in Services.Children.Select(entry => (entry.Key.ToString(), (YamlMappingNode)entry.Value)))
        {
            if (!service.Children.TryGetValue("environment", out var environment))
                continue;
            foreach (var (key, node) in ((YamlMappingNode)environment).Children.Select(pair => (pair.Key.ToString(), pair.Value.ToString())))
            {
                foreach (var credential in CredentialsIn(key, node))
                {
                    checkedSettings++;
                    Assert.True(RequiredReference().IsMatch(credential),
                        $"{name}: {key} holds '{credential}', not a required ${{VAR:?…}} from .env");
                }
            }
        }
        // Postgres (superuser, services), RabbitMQ, MinIO, the gateway's secret, Seq's password and key at least.
        Assert.True(checkedSettings >= 30, $"only {checkedSettings} credentials found: the classification missed some");
    }

    [Fact]
    public void Every_variable_the_file_uses_is_required_with_the_same_message_and_listed_in_the_env_example()
    {
        var text = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "docker-compose.yml"));
        var example = EnvExampleVariables();

        var references = VariableReference().Matches(text).Select(match => match.Value).ToList();
        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            var variable = RequiredReference().Match(reference);
            Assert.True(variable.Success, $"{reference} is not ${{VAR:?set VAR in .env — see .env.example}}: a missing value would not stop compose");
            Assert.Contains(variable.Groups[1].Value, example);
        }
        Assert.Equal(example.Order(), references.Select(reference => RequiredReference().Match(reference).Groups[1].Value).Distinct().Order());
        Assert.Contains("/.env", File.ReadAllLines(Path.Combine(Fixtures.RepositoryRoot, ".gitignore")));
    }

    [Fact]
    public void The_env_example_holds_no_values_and_says_how_to_make_them()
    {
        var lines = File.ReadAllLines(Path.Combine(Fixtures.RepositoryRoot, ".env.example"));

        Assert.All(lines.Where(line => line.Length > 0 && !line.StartsWith('#')), line => Assert.EndsWith("=", line));
        Assert.Contains(lines, line => line.Contains("openssl rand -hex 32"));
    }

    [Theory]
    [MemberData(nameof(ApplicationServices))]
    public void Every_service_refuses_model_paths_trusts_only_the_gateway_and_logs_to_seq_with_the_api_key(string name)
    {
        var environment = (YamlMappingNode)Service(name)["environment"];

        Assert.Equal(RequiredVariable("VQA_GATEWAY_SECRET"), Scalar(environment, "Gateway__InternalSecret"));
        Assert.Equal($"X-Seq-ApiKey={RequiredVariable("VQA_SEQ_API_KEY")}", Scalar(environment, "OTEL_EXPORTER_OTLP_HEADERS"));
        // The gateway resolves no model; every service behind it that could must refuse folders on its disk.
        if (name != "gateway")
            Assert.Equal("false", Scalar(environment, "Models__AllowPaths"));
    }

    [Fact]
    public void Seq_requires_an_api_key_for_ingestion_and_the_services_key_is_created_with_the_admin_password()
    {
        var seq = (YamlMappingNode)Service("seq")["environment"];
        Assert.Equal("true", Scalar(seq, "SEQ_FIRSTRUN_REQUIREAUTHENTICATIONFORHTTPINGESTION"));
        Assert.Equal(RequiredVariable("VQA_SEQ_ADMIN_PASSWORD"), Scalar(seq, "SEQ_FIRSTRUN_ADMINPASSWORD"));
        Assert.False(seq.Children.ContainsKey("SEQ_FIRSTRUN_NOAUTHENTICATION"));

        var init = Service("seq-init");
        Assert.Equal("service_healthy", Scalar((YamlMappingNode)((YamlMappingNode)init["depends_on"])["seq"], "condition"));
        var script = string.Join(" ", ((YamlSequenceNode)init["entrypoint"]).Children);
        Assert.Contains("apikey create", script);
        Assert.Contains("--token \"$$VQA_SEQ_API_KEY\"", script);
        Assert.Contains("-a \"$$VQA_SEQ_API_KEY\"", script);
    }

    /// <summary>
    /// The credentials a setting holds: the whole value of a password, secret, key or user setting; the password of a
    /// connection string; the user and password of a URL; the value of a header.
    /// </summary>
    private static IEnumerable<string> CredentialsIn(string key, string value)
    {
        // The superuser's name is no secret (its password is).
        if (key is "POSTGRES_USER" or "VQA_S3_ENDPOINT" or "VQA_S3_BUCKET" or "OTEL_EXPORTER_OTLP_ENDPOINT" or "OTEL_EXPORTER_OTLP_PROTOCOL")
            return [];
        if (value.Contains("Password=", StringComparison.Ordinal))
            return [value[(value.IndexOf("Password=", StringComparison.Ordinal) + "Password=".Length)..].Split(';')[0]];
        if (value.StartsWith("amqp://", StringComparison.Ordinal))
        {
            var userInfo = value["amqp://".Length..value.LastIndexOf('@')];
            var colon = userInfo.IndexOf(":$", StringComparison.Ordinal) is var at and >= 0 ? at : userInfo.IndexOf(':');
            return [userInfo[..colon], userInfo[(colon + 1)..]];
        }
        if (key == "OTEL_EXPORTER_OTLP_HEADERS")
            return [value[(value.IndexOf('=') + 1)..]];
        return CredentialKey().IsMatch(key) ? [value] : [];
    }

    private static string RequiredVariable(string name) => $"${{{name}:?set {name} in .env — see .env.example}}";

    private static HashSet<string> EnvExampleVariables() =>
        File.ReadAllLines(Path.Combine(Fixtures.RepositoryRoot, ".env.example"))
            .Where(line => line.Length > 0 && !line.StartsWith('#')).Select(line => line.Split('=')[0]).ToHashSet();

    private static string ContainerPort(string service) =>
        (Service(service).Children.ContainsKey("ports") ? Ports(service) : ((YamlSequenceNode)Service(service)["expose"]).Children.Select(port => port.ToString()))
        .Single().Split(':')[^1];

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{[^}]*\}")]
    private static partial System.Text.RegularExpressions.Regex VariableReference();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\$\{([A-Z0-9_]+):\?set \1 in \.env — see \.env\.example\}$")]
    private static partial System.Text.RegularExpressions.Regex RequiredReference();

    [System.Text.RegularExpressions.GeneratedRegex("PASSWORD|_PASS$|SECRET|_KEY$|ApiKey|TOKEN|_USER$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex CredentialKey();

    /// <summary>The project a service's image is built from (its <c>SERVICE</c> build argument), if it names one.</summary>
    private static string? BuiltProject(string service) =>
        ((YamlMappingNode)Service(service)["build"]).Children.TryGetValue("args", out var args) ? Scalar((YamlMappingNode)args, "SERVICE") : null;

    private static YamlMappingNode LoadCompose()
    {
        using var reader = File.OpenText(Path.Combine(Fixtures.RepositoryRoot, "docker-compose.yml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    private static YamlMappingNode Service(string name) =>
        Services.Children.TryGetValue(name, out var service)
            ? (YamlMappingNode)service
            : throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'");

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value : null;

    private static IEnumerable<string> Ports(string service) =>
        ((YamlSequenceNode)Service(service)["ports"]).Children.Select(port => port.ToString());

    private static IEnumerable<string> Mounts(YamlMappingNode service) =>
        service.Children.TryGetValue("volumes", out var volumes)
            ? ((YamlSequenceNode)volumes).Children.Select(mount => mount.ToString())
            : [];

    // "name:/path" mounts a named volume; "./dir:/path" or "/dir:/path" mounts a host folder.
    private static string? NamedVolume(string mount)
    {
        var source = mount.Split(':')[0];
        return source.StartsWith('.') || source.StartsWith('/') ? null : source;
    }
}
