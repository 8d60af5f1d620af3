using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace VqaPipeline.Ml.Tests.Infra;

/// <summary>
/// infra/k8s cannot be deployed here (no cluster), so what <c>kubectl kustomize</c> renders from the base and each
/// overlay is checked against what the services really are: docker-compose.yml (images, ports, health checks,
/// settings), the services' code (the queues they declare, their health paths, their shutdown timeout) and the
/// rendered objects themselves (every Secret, ConfigMap, Service and TriggerAuthentication a manifest names exists).
/// </summary>
public partial class KubernetesManifestTests
{
    public static TheoryData<string> Kustomizations => new("base", "overlays/cpu", "overlays/gpu");

    private static readonly YamlMappingNode ComposeServices = LoadComposeServices();

    /// <summary>Compose's services built from services/Dockerfile, by the project their SERVICE argument names.</summary>
    private static readonly IReadOnlyDictionary<string, string> ComposeServiceOfProject = ComposeServices.Children
        .Where(pair => Map(pair.Value).Children.TryGetValue("build", out var build) && Map(build).Children.ContainsKey("args"))
        .ToDictionary(pair => Scalar(Map(Map(Map(pair.Value)["build"])["args"]), "SERVICE")!.ToLowerInvariant(), pair => pair.Key.ToString());

    private static readonly Dictionary<string, IReadOnlyList<YamlMappingNode>> Rendered = new();

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_service_compose_builds_has_a_deployment_of_its_own_image(string kustomization)
    {
        var objects = Render(kustomization);

        // The services are the projects that start through the shared service entry point (the CLI does not).
        var services = Directory.GetDirectories(Path.Combine(Fixtures.RepositoryRoot, "services"))
            .Where(folder => File.Exists(Path.Combine(folder, "Program.cs"))
                             && File.ReadAllText(Path.Combine(folder, "Program.cs")).Contains("ServiceEntryPoint.RunAsync"))
            .Select(folder => Path.GetFileName(folder)["VqaPipeline.".Length..].ToLowerInvariant()).Order().ToList();
        Assert.Equal(6, services.Count);
        Assert.Equal(services, ComposeServiceOfProject.Keys.Order());
        foreach (var (project, service) in ComposeServiceOfProject)
        {
            var deployment = Single(objects, "Deployment", service);
            Assert.Equal($"vqapipeline/{project}", ImageRepository(Container(deployment)));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_deployment_listens_and_is_probed_where_compose_checks_the_services_health(string kustomization)
    {
        var objects = Render(kustomization);
        var livePath = CodeConstant("shared/VqaPipeline.Hosting/ServiceDefaults.cs", "LivePath");
        var readyPath = CodeConstant("shared/VqaPipeline.Hosting/ServiceDefaults.cs", "ReadyPath");

        foreach (var deployment in OfKind(objects, "Deployment"))
        {
            var name = Name(deployment);
            var compose = ComposeServiceRun(deployment);
            var container = Container(deployment);
            // Compose publishes the gateway as "host:container" and exposes the others' container port; it probes
            // http://127.0.0.1:<container port><ready path>.
            var composePort = int.Parse(Sequence(compose, compose.Children.ContainsKey("ports") ? "ports" : "expose").Single().ToString().Split(':')[^1]);
            var composeProbe = new Uri(Sequence(Map(compose["healthcheck"]), "test").Last().ToString());
            Assert.Equal(readyPath, composeProbe.AbsolutePath);

            var ports = Sequence(container, "ports").Select(Map).ToList();
            Assert.True(ports.Any(port => Scalar(port, "containerPort") == composePort.ToString()),
                $"{kustomization}: {name} does not listen on {composePort}, where compose reaches it");
            foreach (var (probe, path) in new[] { ("readinessProbe", readyPath), ("livenessProbe", livePath), ("startupProbe", livePath) })
            {
                Assert.True(container.Children.ContainsKey(probe), $"{kustomization}: {name} has no {probe}");
                var httpGet = Map(Map(container[probe])["httpGet"]);
                Assert.True(path == Scalar(httpGet, "path"), $"{kustomization}: {name}'s {probe} asks {Scalar(httpGet, "path")}, not {path}");
                Assert.True(composeProbe.Port == ResolvePort(ports, Scalar(httpGet, "port")!), $"{kustomization}: {name}'s {probe} is not on port {composeProbe.Port}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_deployment_sets_the_settings_compose_gives_its_service_with_the_same_values(string kustomization)
    {
        var objects = Render(kustomization);
        // Differ on purpose: credentials come from Secrets (checked below), the public URL is the cluster's own, Seq (and
        // so the OTLP endpoint) is not part of this deployment; VQA_POSTGRES differs in its password only (checked here).
        string[] deploymentOwn = ["VQA_RABBITMQ_URL", "VQA_S3_ACCESS_KEY", "VQA_S3_SECRET_KEY", "Indexing__AdminToken", "Gateway__InternalSecret", "VQA_API_URL", "VQA_SEQ_URL",
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS"];

        foreach (var deployment in OfKind(objects, "Deployment"))
        {
            var environment = Environment(objects, deployment);
            foreach (var (setting, value) in Map(ComposeServiceRun(deployment)["environment"]).Children)
            {
                var key = setting.ToString();
                Assert.True(environment.ContainsKey(key), $"{kustomization}: {Name(deployment)} does not set {key}, which compose sets");
                if (key == "VQA_POSTGRES")
                {
                    var (composeLogin, _) = SplitPassword(value.ToString());
                    var (login, password) = SplitPassword(environment[key].Value!);
                    Assert.Equal(composeLogin, login);
                    var reference = VariableReference().Match(password);
                    Assert.True(reference.Success, $"{kustomization}: {Name(deployment)}'s database password is written out");
                    var variable = reference.Groups[1].Value;
                    Assert.True(environment.TryGetValue(variable, out var source) && source.FromSecret,
                        $"{kustomization}: {Name(deployment)}'s database password ${variable} is not taken from a Secret");
                }
                else if (!deploymentOwn.Contains(key))
                {
                    Assert.True(value.ToString() == environment[key].Value,
                        $"{kustomization}: {Name(deployment)} sets {key}={environment[key].Value}, compose {value}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Credentials_come_from_secrets_and_never_from_literals_or_config_maps(string kustomization)
    {
        var objects = Render(kustomization);
        string[] credentials = ["VQA_RABBITMQ_URL", "VQA_S3_ACCESS_KEY", "VQA_S3_SECRET_KEY", "VQA_POSTGRES_SERVICE_PASSWORD", "Indexing__AdminToken", "Gateway__InternalSecret"];

        var checkedAny = false;
        foreach (var deployment in OfKind(objects, "Deployment"))
            foreach (var (name, setting) in Environment(objects, deployment).Where(pair => credentials.Contains(pair.Key)))
            {
                checkedAny = true;
                Assert.True(setting.FromSecret, $"{kustomization}: {Name(deployment)} sets {name} outside a Secret");
            }
        Assert.True(checkedAny);
        foreach (var config in OfKind(objects, "ConfigMap"))
            Assert.DoesNotContain(Data(config).Keys, credentials.Contains);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_secret_config_map_and_trigger_authentication_a_manifest_names_is_rendered(string kustomization)
    {
        var objects = Render(kustomization);
        var referenced = 0;

        foreach (var item in objects)
            foreach (var node in Descendants(item))
            {
                if (node.Children.TryGetValue("secretKeyRef", out var keyRef))
                    AssertKey("Secret", Map(keyRef), "name", "key");
                if (node.Children.TryGetValue("configMapKeyRef", out var configKeyRef))
                    AssertKey("ConfigMap", Map(configKeyRef), "name", "key");
                if (node.Children.TryGetValue("secretRef", out var secretRef))
                    AssertExists("Secret", Scalar(Map(secretRef), "name")!);
                if (node.Children.TryGetValue("configMapRef", out var configRef))
                    AssertExists("ConfigMap", Scalar(Map(configRef), "name")!);
                if (node.Children.TryGetValue("secretName", out var secretName))
                    AssertExists("Secret", secretName.ToString());
                if (node.Children.TryGetValue("secretTargetRef", out var targets))
                    foreach (var target in ((YamlSequenceNode)targets).Children.Select(Map))
                        AssertKey("Secret", target, "name", "key");
                if (node.Children.TryGetValue("authenticationRef", out var authentication))
                    AssertExists("TriggerAuthentication", Scalar(Map(authentication), "name")!);
                if (node.Children.TryGetValue("configMap", out var volume) && volume is YamlMappingNode configVolume)
                {
                    var name = Scalar(configVolume, "name")!;
                    if (name == ProvisioningScriptConfigMap)
                        AssertProvisioningScriptIsCreatedAsDocumented();
                    else
                        AssertExists("ConfigMap", name);
                }
            }
        Assert.True(referenced > 10, $"only {referenced} references found");

        void AssertExists(string kind, string name)
        {
            referenced++;
            Assert.True(objects.Any(item => Kind(item) == kind && Name(item) == name), $"{kustomization}: {kind} '{name}' is referenced but not rendered");
        }

        void AssertKey(string kind, YamlMappingNode reference, string nameKey, string keyKey)
        {
            AssertExists(kind, Scalar(reference, nameKey)!);
            var key = Scalar(reference, keyKey)!;
            Assert.True(Data(Single(objects, kind, Scalar(reference, nameKey)!)).ContainsKey(key),
                $"{kustomization}: {kind} '{Scalar(reference, nameKey)}' has no key '{key}'");
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_keda_queue_trigger_names_a_queue_the_scaled_service_consumes(string kustomization)
    {
        var objects = Render(kustomization);
        var queueTriggers = 0;

        foreach (var scaled in OfKind(objects, "ScaledObject"))
        {
            var spec = Map(scaled["spec"]);
            Assert.Equal("keda.sh/v1alpha1", Scalar(scaled, "apiVersion"));
            var target = Single(objects, "Deployment", Scalar(Map(spec["scaleTargetRef"]), "name")!);
            var project = ProjectRun(target);
            var declared = DeclaredQueues(project);
            foreach (var trigger in Sequence(spec, "triggers").Select(Map).Where(trigger => Scalar(trigger, "type") == "rabbitmq"))
            {
                queueTriggers++;
                var queue = Scalar(Map(trigger["metadata"]), "queueName")!;
                Assert.True(declared.Contains(queue),
                    $"{kustomization}: {Name(scaled)} scales on '{queue}', which {project} does not consume (it consumes {string.Join(", ", declared)})");
            }
        }
        Assert.True(queueTriggers >= 2, $"{kustomization}: {queueTriggers} queue triggers");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Inference_workers_scale_on_the_image_batch_queue_and_preprocessing_on_its_own(string kustomization)
    {
        var objects = Render(kustomization);

        // The queue of the consumer that answers images, not the job queue (one message per job, whatever its size).
        var batchQueue = EndpointQueueOf("Inference", "ImageBatchConsumerDefinition");
        var preprocessingQueue = EndpointQueueOf("Preprocessing", "ImageIngestedConsumerDefinition");
        Assert.Equal([batchQueue], QueueTriggersOn(objects, "inference-worker"));
        Assert.Equal([preprocessingQueue], QueueTriggersOn(objects, ComposeServiceOfProject["preprocessing"]));
        Assert.DoesNotContain(EndpointQueueOf("Inference", "QuestionJobSubmittedConsumerDefinition"), QueueTriggersOn(objects, "inference-worker"));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Scaled_workers_go_to_zero_under_a_cap_after_their_first_start_and_leave_their_replicas_to_keda(string kustomization)
    {
        var objects = Render(kustomization);
        var scaledTargets = new HashSet<string>();

        foreach (var scaled in OfKind(objects, "ScaledObject"))
        {
            var spec = Map(scaled["spec"]);
            Assert.True(Scalar(spec, "minReplicaCount") == "0", $"{kustomization}: {Name(scaled)} does not scale to zero");
            Assert.True(int.Parse(Scalar(spec, "maxReplicaCount") ?? "0") >= 1, $"{kustomization}: {Name(scaled)} has no cap");
            var target = Scalar(Map(spec["scaleTargetRef"]), "name")!;
            scaledTargets.Add(target);
            // A queue worker declares its queue when it starts: its first pod must be up before KEDA first scales to
            // zero, or what is published meanwhile reaches no queue.
            if (Sequence(spec, "triggers").Select(Map).Any(trigger => Scalar(trigger, "type") == "rabbitmq"))
            {
                var startup = Map(Container(Single(objects, "Deployment", target))["startupProbe"]);
                var longestStart = int.Parse(Scalar(startup, "periodSeconds")!) * int.Parse(Scalar(startup, "failureThreshold")!);
                Assert.True(int.Parse(Scalar(spec, "initialCooldownPeriod") ?? "0") > longestStart,
                    $"{kustomization}: {Name(scaled)} may scale to zero before its first pod has started ({longestStart} s) and declared its queue");
            }
        }
        Assert.Contains("preprocessing", scaledTargets);
        Assert.Contains("inference-worker", scaledTargets);
        Assert.Contains("training-worker", scaledTargets);
        // A Deployment that says how many replicas it wants would undo KEDA's choice on every apply, and one without
        // would run a single replica forever.
        foreach (var deployment in OfKind(objects, "Deployment"))
            Assert.True(scaledTargets.Contains(Name(deployment)) != Map(deployment["spec"]).Children.ContainsKey("replicas"),
                $"{kustomization}: {Name(deployment)} must either say how many replicas it runs or be scaled by KEDA, not both or neither");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void The_training_worker_is_woken_by_the_runs_it_can_take_logging_in_as_the_training_role(string kustomization)
    {
        var objects = Render(kustomization);
        var scaled = Single(objects, "ScaledObject", "training-worker");
        var trigger = Map(Sequence(Map(scaled["spec"]), "triggers").Single());
        var metadata = Map(trigger["metadata"]);

        Assert.Equal("postgresql", Scalar(trigger, "type"));
        var worker = Single(objects, "Deployment", "training-worker");
        var login = Environment(objects, worker)["VQA_POSTGRES"].Value!;
        Assert.Contains($"Username={Scalar(metadata, "userName")};", login);
        Assert.Contains($"Database={Scalar(metadata, "dbName")};", login);
        var databaseHost = Regex.Match(login, "Host=([^;]+)").Groups[1].Value;
        Assert.Equal($"{databaseHost}.{Namespace(worker)}.svc.cluster.local", Scalar(metadata, "host"));
        // The worker's own claim query (TrainingWorker.cs) decides what it can take: the trigger counts the same runs.
        var claim = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "services/VqaPipeline.Training/TrainingWorker.cs"));
        var query = Scalar(metadata, "query")!;
        Assert.Contains("(status = 'queued' AND dataset_prefix IS NOT NULL)", claim);
        Assert.Contains("(status = 'queued' AND dataset_prefix IS NOT NULL)", query);
        Assert.Contains("training.training_runs", query);
        Assert.Equal("true", Environment(objects, worker)["Training__RunWorker"].Value);
        Assert.Equal("false", Environment(objects, Single(objects, "Deployment", "training"))["Training__RunWorker"].Value);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_pod_gets_longer_to_stop_than_its_service_gives_in_flight_work(string kustomization)
    {
        var objects = Render(kustomization);
        var defaultTimeout = TimeSpan.FromSeconds(int.Parse(Regex.Match(
            File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "shared/VqaPipeline.Hosting/Options.cs")),
            @"ShutdownTimeout \{ get; set; \} = TimeSpan\.FromSeconds\((\d+)\)").Groups[1].Value));
        Assert.True(defaultTimeout > TimeSpan.Zero);

        foreach (var deployment in OfKind(objects, "Deployment"))
        {
            var environment = Environment(objects, deployment);
            var timeout = environment.TryGetValue("Service__ShutdownTimeout", out var set) ? TimeSpan.Parse(set.Value!) : defaultTimeout;
            var grace = int.Parse(Scalar(Map(Map(Map(deployment["spec"])["template"])["spec"]), "terminationGracePeriodSeconds") ?? "30");
            Assert.True(grace > timeout.TotalSeconds, $"{kustomization}: {Name(deployment)} is killed after {grace} s, its service waits {timeout}");
        }
        // The inference worker's in-flight batches need more than the default (see inference.yaml).
        Assert.True(TimeSpan.Parse(Environment(objects, Single(objects, "Deployment", "inference-worker"))["Service__ShutdownTimeout"].Value!) > defaultTimeout);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_deployment_has_resource_bounds_and_a_disruption_budget(string kustomization)
    {
        var objects = Render(kustomization);
        var budgets = OfKind(objects, "PodDisruptionBudget").ToList();

        foreach (var deployment in OfKind(objects, "Deployment"))
        {
            var resources = Map(Container(deployment)["resources"]);
            foreach (var bound in new[] { "requests", "limits" })
                foreach (var resource in new[] { "cpu", "memory" })
                    Assert.False(string.IsNullOrEmpty(Scalar(Map(resources[bound]), resource)), $"{Name(deployment)}: no {bound}.{resource}");
            var labels = Labels(Map(Map(Map(deployment["spec"])["template"])["metadata"]));
            var covering = budgets.Count(budget => MatchLabels(Map(budget["spec"])).All(label => labels.Contains(label)));
            Assert.True(covering == 1, $"{kustomization}: {Name(deployment)}'s pods are covered by {covering} disruption budgets");
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void The_addresses_services_call_each_other_at_are_services_of_the_right_pods(string kustomization)
    {
        var objects = Render(kustomization);

        // Every Services__X compose gives (the gateway's routes, the calls between services), and the gateway itself.
        var addresses = Map(Map(ComposeServices["gateway"])["environment"]).Children
            .Where(pair => pair.Key.ToString().StartsWith("Services__", StringComparison.Ordinal))
            .Select(pair => new Uri(pair.Value.ToString())).Append(new Uri("http://gateway:8080")).ToList();
        Assert.Equal(5, addresses.Count);
        foreach (var address in addresses)
        {
            var service = Single(objects, "Service", address.Host);
            var port = Sequence(Map(service["spec"]), "ports").Select(Map).SingleOrDefault(port => Scalar(port, "port") == address.Port.ToString())
                ?? throw new Xunit.Sdk.XunitException($"{kustomization}: Service {address.Host} has no port {address.Port}");
            var selector = Labels(Map(service["spec"]), "selector");
            var pods = OfKind(objects, "Deployment")
                .Where(deployment => selector.All(Labels(Map(Map(Map(deployment["spec"])["template"])["metadata"])).Contains)).ToList();
            Assert.True(pods.Count == 1, $"{kustomization}: Service {address.Host} selects {pods.Count} Deployments' pods");
            var deployment = pods[0];
            Assert.True(address.Host == ComposeServiceOfProject[ProjectRun(deployment)],
                $"{kustomization}: Service {address.Host} sends requests to {Name(deployment)}");
            Assert.Equal(address.Port, ResolvePort(Sequence(Container(deployment), "ports").Select(Map).ToList(), Scalar(port, "targetPort")!));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void The_broker_database_and_store_are_external_services_under_the_names_the_settings_use(string kustomization)
    {
        var objects = Render(kustomization);
        var ingestion = Environment(objects, Single(objects, "Deployment", "ingestion"));

        var hosts = new[]
        {
            Regex.Match(ingestion["VQA_POSTGRES"].Value!, "Host=([^;]+)").Groups[1].Value,
            new Uri(ingestion["VQA_S3_ENDPOINT"].Value!).Host,
            new Uri(SecretValue(objects, "VQA_RABBITMQ_URL")).Host.Split('.')[0],
        };
        foreach (var host in hosts)
            Assert.Equal("ExternalName", Scalar(Map(Single(objects, "Service", host)["spec"]), "type"));
        Assert.Empty(OfKind(objects, "StatefulSet"));
    }

    [Fact]
    public void The_gpu_overlay_answers_on_a_gpu_with_the_cuda_image_and_compose_gpu_settings()
    {
        var gpuCompose = Map(ComposeServices["inference-gpu"]);
        var dockerfile = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, Scalar(Map(gpuCompose["build"]), "dockerfile")!));
        Assert.Contains("-p:OnnxRuntimeGpu=true", dockerfile);

        var gpu = Render("overlays/gpu");
        var worker = Single(gpu, "Deployment", "inference-worker");
        var container = Container(worker);
        Assert.Equal("vqapipeline/inference-gpu", ImageRepository(container));
        Assert.Equal("1", Scalar(Map(Map(container["resources"])["limits"]), "nvidia.com/gpu"));
        Assert.NotEmpty(Map(Map(Map(Map(worker["spec"])["template"])["spec"])["nodeSelector"]).Children);
        var environment = Environment(gpu, worker);
        foreach (var (setting, value) in Map(gpuCompose["environment"]).Children.Where(pair => pair.Key.ToString().StartsWith("Inference__", StringComparison.Ordinal)))
            Assert.Equal(value.ToString(), environment[setting.ToString()].Value);
        // The jobs API stays on the CPU image, and nothing outside the gpu overlay asks for a GPU.
        Assert.Equal("vqapipeline/inference", ImageRepository(Container(Single(gpu, "Deployment", "inference"))));
        foreach (var kustomization in new[] { "base", "overlays/cpu" })
            Assert.DoesNotContain(OfKind(Render(kustomization), "Deployment"), deployment => ToYaml(deployment).Contains("nvidia.com/gpu"));
    }

    [Fact]
    public void Rendering_a_broken_kustomization_fails_with_kubectls_message()
    {
        var folder = Directory.CreateTempSubdirectory("vqa-kustomize-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "kustomization.yaml"), "resources:\n  - missing.yaml\n");
            var failure = Assert.ThrowsAny<Exception>(() => RunKustomize(folder.FullName));
            Assert.Contains("missing.yaml", failure.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // ---- rendering ----

    private const string ProvisioningScriptConfigMap = "vqa-provision-sql";

    private static IReadOnlyList<YamlMappingNode> Render(string kustomization)
    {
        lock (Rendered)
        {
            if (!Rendered.TryGetValue(kustomization, out var objects))
                Rendered[kustomization] = objects = Parse(RunKustomize(Path.Combine(Fixtures.RepositoryRoot, "infra", "k8s", kustomization)));
            return objects;
        }
    }

    private static string RunKustomize(string folder)
    {
        var start = new ProcessStartInfo("kubectl", ["kustomize", folder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception exception)
        {
            throw new Xunit.Sdk.XunitException(
                $"kubectl is needed to render infra/k8s ({exception.Message}): install it (Debian: apt-get install kubectl; it carries kustomize) and put it on PATH.");
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new Xunit.Sdk.XunitException($"kubectl kustomize {folder} failed ({process.ExitCode}): {error.Result}");
            return output;
        }
    }

    private static List<YamlMappingNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(document => (YamlMappingNode)document.RootNode).ToList();
    }

    // ---- what the code and compose say ----

    private static YamlMappingNode LoadComposeServices()
    {
        using var reader = File.OpenText(Path.Combine(Fixtures.RepositoryRoot, "docker-compose.yml"));
        var yaml = new YamlStream();
        yaml.Load(reader);
        return Map(Map(yaml.Documents.Single().RootNode)["services"]);
    }

    /// <summary>The project a Deployment runs (lower case), from its image: vqapipeline/&lt;project&gt;[-gpu].</summary>
    private static string ProjectRun(YamlMappingNode deployment)
    {
        var repository = ImageRepository(Container(deployment));
        Assert.StartsWith("vqapipeline/", repository);
        var project = repository["vqapipeline/".Length..];
        return project.EndsWith("-gpu", StringComparison.Ordinal) ? project[..^"-gpu".Length] : project;
    }

    /// <summary>The compose service a Deployment stands for: inference-gpu for the GPU image, else its project's.</summary>
    private static YamlMappingNode ComposeServiceRun(YamlMappingNode deployment) =>
        ImageRepository(Container(deployment)).EndsWith("-gpu", StringComparison.Ordinal)
            ? Map(ComposeServices["inference-gpu"])
            : Map(ComposeServices[ComposeServiceOfProject[ProjectRun(deployment)]]);

    /// <summary>
    /// The queues a service consumes: the defaults of its options' <c>…QueueName</c> properties that one of its
    /// consumer definitions makes an <c>EndpointName</c>.
    /// </summary>
    private static HashSet<string> DeclaredQueues(string project)
    {
        var sources = ProjectSources(project);
        var defaults = sources.SelectMany(source => QueueOption().Matches(source))
            .ToDictionary(match => match.Groups["property"].Value, match => match.Groups["queue"].Value);
        var endpoints = sources.SelectMany(source => EndpointAssignment().Matches(source)).Select(match => match.Groups["property"].Value);
        return endpoints.Where(defaults.ContainsKey).Select(property => defaults[property]).ToHashSet();
    }

    /// <summary>The queue a consumer definition of <paramref name="project"/> names as its endpoint.</summary>
    private static string EndpointQueueOf(string project, string definition)
    {
        var sources = ProjectSources(project.ToLowerInvariant());
        var body = sources.Select(source => Regex.Match(source, $@"class {definition}\b[\s\S]*?EndpointName = [\w.]*?\.?(?<property>\w*QueueName)\b"))
            .Single(match => match.Success);
        return sources.SelectMany(source => QueueOption().Matches(source))
            .Single(match => match.Groups["property"].Value == body.Groups["property"].Value).Groups["queue"].Value;
    }

    private static List<string> ProjectSources(string project)
    {
        var folder = Directory.GetDirectories(Path.Combine(Fixtures.RepositoryRoot, "services"))
            .Single(path => string.Equals(Path.GetFileName(path), $"VqaPipeline.{project}", StringComparison.OrdinalIgnoreCase));
        return Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(File.ReadAllText).ToList();
    }

    private static string CodeConstant(string file, string name) =>
        Regex.Match(File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, file)), $@"const string {name} = ""([^""]+)""").Groups[1].Value is { Length: > 0 } value
            ? value
            : throw new Xunit.Sdk.XunitException($"{file} declares no {name}");

    [GeneratedRegex(@"string (?<property>\w*QueueName) \{ get; set; \} = ""(?<queue>[^""]+)""")]
    private static partial Regex QueueOption();

    [GeneratedRegex(@"EndpointName = [\w.]*?\.?(?<property>\w*QueueName)\b")]
    private static partial Regex EndpointAssignment();

    [GeneratedRegex(@"\$\((\w+)\)")]
    private static partial Regex VariableReference();

    private static (string Login, string Password) SplitPassword(string connectionString)
    {
        var at = connectionString.IndexOf("Password=", StringComparison.Ordinal);
        Assert.True(at > 0, $"no password in '{connectionString}'");
        return (connectionString[..at], connectionString[(at + "Password=".Length)..]);
    }

    private static void AssertProvisioningScriptIsCreatedAsDocumented()
    {
        // kustomize reads no file outside infra/k8s, so the script's ConfigMap is made from the repository's file.
        const string script = "shared/VqaPipeline.Data/Provisioning/provision.sql";
        Assert.True(File.Exists(Path.Combine(Fixtures.RepositoryRoot, script)));
        var docs = File.ReadAllText(Path.Combine(Fixtures.RepositoryRoot, "docs", "kubernetes.md"));
        Assert.Contains($"kubectl create configmap {ProvisioningScriptConfigMap}", docs);
        Assert.Contains(script, docs);
    }

    // ---- the rendered objects ----

    /// <summary>A setting of a container: its literal value (null when it comes from elsewhere), and whether a Secret gives it.</summary>
    private sealed record Setting(string? Value, bool FromSecret);

    /// <summary>What a Deployment's container is given: envFrom's ConfigMaps and Secrets, then env (which wins).</summary>
    private static Dictionary<string, Setting> Environment(IReadOnlyList<YamlMappingNode> objects, YamlMappingNode deployment)
    {
        var container = Container(deployment);
        var settings = new Dictionary<string, Setting>();
        foreach (var source in Sequence(container, "envFrom").Select(Map))
        {
            if (source.Children.TryGetValue("configMapRef", out var config))
                foreach (var (key, value) in Data(Single(objects, "ConfigMap", Scalar(Map(config), "name")!)))
                    settings[key] = new Setting(value, FromSecret: false);
            if (source.Children.TryGetValue("secretRef", out var secret))
                foreach (var key in Data(Single(objects, "Secret", Scalar(Map(secret), "name")!)).Keys)
                    settings[key] = new Setting(null, FromSecret: true);
        }
        foreach (var variable in Sequence(container, "env").Select(Map))
        {
            var fromSecret = variable.Children.TryGetValue("valueFrom", out var from) && Map(from).Children.ContainsKey("secretKeyRef");
            settings[Scalar(variable, "name")!] = new Setting(Scalar(variable, "value"), fromSecret);
        }
        return settings;
    }

    private static string SecretValue(IReadOnlyList<YamlMappingNode> objects, string key) =>
        OfKind(objects, "Secret").Select(secret => Data(secret).GetValueOrDefault(key)).Single(value => value is not null)!;

    /// <summary>A ConfigMap's or Secret's entries (stringData as written, data decoded).</summary>
    private static Dictionary<string, string?> Data(YamlMappingNode item)
    {
        var entries = new Dictionary<string, string?>();
        if (item.Children.TryGetValue("data", out var data))
            foreach (var (key, value) in Map(data).Children)
                entries[key.ToString()] = Kind(item) == "Secret"
                    ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value.ToString()))
                    : ((YamlScalarNode)value).Value;
        if (item.Children.TryGetValue("stringData", out var stringData))
            foreach (var (key, value) in Map(stringData).Children)
                entries[key.ToString()] = ((YamlScalarNode)value).Value;
        return entries;
    }

    private static int ResolvePort(IReadOnlyList<YamlMappingNode> ports, string port) =>
        int.TryParse(port, out var number)
            ? number
            : int.Parse(Scalar(Assert.Single(ports, candidate => Scalar(candidate, "name") == port), "containerPort")!);

    private static string ImageRepository(YamlMappingNode container)
    {
        var image = Scalar(container, "image")!;
        var withoutTag = image.Split('@')[0];
        var slash = withoutTag.LastIndexOf('/');
        var colon = withoutTag.LastIndexOf(':');
        var repository = colon > slash ? withoutTag[..colon] : withoutTag;
        // A registry in front (registry.example.com/vqapipeline/x) is the overlay's business: compare the last two parts.
        return string.Join('/', repository.Split('/')[^2..]);
    }

    private static YamlMappingNode Container(YamlMappingNode deployment) =>
        Map(Assert.Single(Sequence(Map(Map(Map(deployment["spec"])["template"])["spec"]), "containers")));

    private static HashSet<KeyValuePair<string, string>> Labels(YamlMappingNode node, string key = "labels") =>
        node.Children.TryGetValue(key, out var labels)
            ? Map(labels).Children.Select(pair => KeyValuePair.Create(pair.Key.ToString(), pair.Value.ToString())).ToHashSet()
            : [];

    private static HashSet<KeyValuePair<string, string>> MatchLabels(YamlMappingNode budgetSpec) =>
        Labels(Map(budgetSpec["selector"]), "matchLabels");

    private static IEnumerable<YamlMappingNode> Descendants(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.Values.SelectMany(Descendants).Prepend(map),
        YamlSequenceNode sequence => sequence.Children.SelectMany(Descendants),
        _ => [],
    };

    private static List<string> QueueTriggersOn(IReadOnlyList<YamlMappingNode> objects, string deployment) =>
        OfKind(objects, "ScaledObject")
            .Where(scaled => Scalar(Map(Map(scaled["spec"])["scaleTargetRef"]), "name") == deployment)
            .SelectMany(scaled => Sequence(Map(scaled["spec"]), "triggers").Select(Map))
            .Where(trigger => Scalar(trigger, "type") == "rabbitmq")
            .Select(trigger => Scalar(Map(trigger["metadata"]), "queueName")!).ToList();

    private static IEnumerable<YamlMappingNode> OfKind(IEnumerable<YamlMappingNode> objects, string kind) =>
        objects.Where(item => Kind(item) == kind);

    private static YamlMappingNode Single(IReadOnlyList<YamlMappingNode> objects, string kind, string name) =>
        OfKind(objects, kind).SingleOrDefault(item => Name(item) == name)
        ?? throw new Xunit.Sdk.XunitException($"no {kind} '{name}' is rendered");

    private static string? Kind(YamlMappingNode item) => Scalar(item, "kind");

    private static string Name(YamlMappingNode item) => Scalar(Map(item["metadata"]), "name")!;

    private static string? Namespace(YamlMappingNode item) => Scalar(Map(item["metadata"]), "namespace");

    private static string ToYaml(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static YamlMappingNode Map(YamlNode node) => (YamlMappingNode)node;

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlSequenceNode)value).Children : [];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value : null;
}
