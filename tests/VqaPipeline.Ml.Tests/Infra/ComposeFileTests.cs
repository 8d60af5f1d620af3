using YamlDotNet.RepresentationModel;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>
/// docker-compose.yml cannot be started here (no Docker engine), so its shape is checked instead: every server of the
/// stack, with a health check, its data in a declared named volume, valid depends_on conditions, each service on its
/// own database role, the gateway in front, and the same ports and credentials as infra/local/settings.sh.
/// </summary>
public class ComposeFileTests
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
        Assert.Contains(Defaults["VQA_POSTGRES_SERVICE_PASSWORD"], Scalar((YamlMappingNode)provision["environment"], "VQA_POSTGRES_SERVICE_PASSWORD"));
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
        var containerPort = Ports(name).Single().Split(':')[^1];
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
        Assert.DoesNotContain(Ports("inference").Single().Split(':')[0], Ports("inference-gpu").Single());
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
        Assert.Contains($"{Defaults["VQA_S3_ACCESS_KEY"]} {Defaults["VQA_S3_SECRET_KEY"]}", script);
    }

    [Fact]
    public void PortsAndCredentialsMatchTheLocalScripts()
    {
        Assert.Contains($"{Defaults["VQA_RABBITMQ_PORT"]}:5672", Ports("rabbitmq"));
        Assert.Contains("15672:15672", Ports("rabbitmq"));
        Assert.Contains($"{Defaults["VQA_POSTGRES_PORT"]}:5432", Ports("postgres"));
        Assert.Contains($"{Defaults["VQA_S3_PORT"]}:9000", Ports("minio"));

        var postgres = (YamlMappingNode)Service("postgres")["environment"];
        Assert.Equal(Defaults["VQA_POSTGRES_DB"], Scalar(postgres, "POSTGRES_DB"));
        Assert.Equal(Defaults["VQA_POSTGRES_USER"], Scalar(postgres, "POSTGRES_USER"));
        Assert.Equal(Defaults["VQA_POSTGRES_PASSWORD"], Scalar(postgres, "POSTGRES_PASSWORD"));
        var minio = (YamlMappingNode)Service("minio")["environment"];
        Assert.Equal(Defaults["VQA_S3_ACCESS_KEY"], Scalar(minio, "MINIO_ROOT_USER"));
        Assert.Equal(Defaults["VQA_S3_SECRET_KEY"], Scalar(minio, "MINIO_ROOT_PASSWORD"));
    }

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
