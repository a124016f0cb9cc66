using System.Net;
using System.Text.Json;
using GraphPipe.Server;
using static GraphPipe.FunctionalTests.Deploy.Manifests;

namespace GraphPipe.FunctionalTests.Deploy;

/// <summary>
/// deploy/: the Kustomize base and overlays, the Dockerfile and .dockerignore, read as data and checked against
/// the CLI's real command definitions and a real server's paths, so they cannot drift from the code.
/// </summary>
public sealed class DeployFilesTests
{
    private static readonly string[] Stages = ["model", "preprocess", "download"];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static List<Dictionary<object, object>> Base()
        => Directory.GetFiles(Manifests.Path("deploy", "k8s", "base"), "*.yaml").Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal)).SelectMany(Load).ToList();

    private static Dictionary<object, object> Deployment(List<Dictionary<object, object>> docs, string stage)
        => docs.Single(d => Kind(d) == "Deployment" && Name(d) == $"classy-{stage}");

    private static Dictionary<object, object> Container(Dictionary<object, object> deployment) => Map(deployment, "spec", "template", "spec", "containers", 0);

    private static string[] Args(Dictionary<object, object> deployment) => List(Container(deployment), "args").Cast<string>().ToArray();

    private static int ListenPort(Dictionary<object, object> deployment)
        => ListenAddress.Parse(Value<string>(ParseCli(Args(deployment)), "--listen")!).Port;

    [Fact]
    public void Base_EveryStagesArgsParseWithTheCliAndItsPortsAgree()
    {
        var docs = Base();
        foreach (var stage in Stages)
        {
            var deployment = Deployment(docs, stage);
            var container = Container(deployment);
            var parse = ParseCli(Args(deployment));
            var port = ListenAddress.Parse(Value<string>(parse, "--listen")!).Port;
            var containerPort = List(container, "ports").Cast<Dictionary<object, object>>().Single(p => Text(p, "name") == "http");
            var services = docs.Where(d => Kind(d) == "Service" && Text(d, "spec", "selector", "app.kubernetes.io/component") == stage).ToList();

            Assert.Equal(port, Int(containerPort, "containerPort"));
            foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            {
                var probePort = Text(container, probe, "httpGet", "port");
                Assert.True(probePort == "http" || probePort == port.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{stage} {probe} port {probePort}");
            }

            Assert.Equal(2, services.Count);
            Assert.Single(services, s => Text(s, "spec", "clusterIP") == "None");
            Assert.All(services, s => Assert.Equal(port, Int(s, "spec", "ports", 0, "port")));
            Assert.All(services, s => Assert.Equal("http", Text(s, "spec", "ports", 0, "targetPort")));
        }
    }

    [Fact]
    public void Base_EnvironmentNamesAreTheCliOnesAndNextUrlsNameAServiceAndPort()
    {
        var docs = Base();
        foreach (var stage in Stages)
        {
            var deployment = Deployment(docs, stage);
            var command = ParseCli(Args(deployment)).CommandResult.Command;
            var known = EnvironmentNames(command);
            foreach (var env in List(Container(deployment), "env").Cast<Dictionary<object, object>>())
            {
                var name = Text(env, "name")!;
                Assert.True(known.Contains(name), $"{stage}: {name} is not an environment variable of 'graphpipe serve {command.Name}'");
                if (name == "GP_NEXT")
                {
                    var next = new Uri(Text(env, "value")!);
                    var service = docs.Single(d => Kind(d) == "Service" && Name(d) == next.Host);
                    Assert.Equal(next.Port, Int(service, "spec", "ports", 0, "port"));
                }
            }
        }
    }

    [Fact]
    public void Base_DrainFitsTheGracePeriodAndStartupAllowsTheModelsLoad()
    {
        var docs = Base();
        foreach (var stage in Stages)
        {
            var deployment = Deployment(docs, stage);
            var container = Container(deployment);
            var parse = ParseCli(Args(deployment));
            var drain = Value<TimeSpan>(parse, "--drain-delay") + Value<TimeSpan>(parse, "--shutdown-timeout");
            var preStop = TimeSpan.FromSeconds(Int(container, "lifecycle", "preStop", "sleep", "seconds"));
            var grace = TimeSpan.FromSeconds(Int(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds"));
            var startupBudget = TimeSpan.FromSeconds(Int(container, "startupProbe", "periodSeconds") * Int(container, "startupProbe", "failureThreshold"));

            Assert.True(Value<TimeSpan>(parse, "--drain-delay") > TimeSpan.Zero, $"{stage}: --drain-delay is 0");
            Assert.True(grace >= preStop + drain + TimeSpan.FromSeconds(1), $"{stage}: grace {grace} < preStop {preStop} + drain {drain}");
            Assert.True(startupBudget >= TimeSpan.FromSeconds(30), $"{stage}: startup budget {startupBudget} is under 30 s (the model loads in 6-13 s)");
            Assert.Equal("/v2/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
        }
    }

    [Fact]
    public void Base_SecurityContextIsNonRootReadOnlyWithoutEscalationOrCapabilities()
    {
        var docs = Base();
        foreach (var stage in Stages)
        {
            var deployment = Deployment(docs, stage);
            var pod = Map(deployment, "spec", "template", "spec");
            var container = Container(deployment);

            Assert.Equal("true", Text(pod, "securityContext", "runAsNonRoot"));
            Assert.NotEqual("0", Text(pod, "securityContext", "runAsUser"));
            Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
            Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));
            Assert.Contains("ALL", List(container, "securityContext", "capabilities", "drop").Cast<string>());
            // A read-only root needs a writable /tmp for the runtime.
            Assert.Contains(List(container, "volumeMounts").Cast<Dictionary<object, object>>(), m => Text(m, "mountPath") == "/tmp");
        }
    }

    [Fact]
    public void Base_EachStageHasPdbHpaAndANetworkPolicyAdmittingOnlyTheStageBeforeAndClients()
    {
        var docs = Base();
        var callers = new Dictionary<string, string?>(StringComparer.Ordinal) { ["download"] = null };
        foreach (var stage in Stages)
        {
            var next = List(Container(Deployment(docs, stage)), "env").Cast<Dictionary<object, object>>().FirstOrDefault(e => Text(e, "name") == "GP_NEXT");
            if (next is not null)
            {
                callers[new Uri(Text(next, "value")!).Host] = stage;
            }
        }

        foreach (var stage in Stages)
        {
            var labels = Map(Deployment(docs, stage), "spec", "template", "metadata", "labels");
            bool Selects(Dictionary<object, object> selector) => selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && Equals(v, kv.Value));

            var pdb = docs.Single(d => Kind(d) == "PodDisruptionBudget" && Selects(Map(d, "spec", "selector", "matchLabels")));
            var hpa = docs.Single(d => Kind(d) == "HorizontalPodAutoscaler" && Text(d, "spec", "scaleTargetRef", "name") == $"classy-{stage}");
            var policy = docs.Single(d => Kind(d) == "NetworkPolicy" && Selects(Map(d, "spec", "podSelector", "matchLabels")));
            var from = List(policy, "spec", "ingress", 0, "from").Cast<Dictionary<object, object>>().ToList();
            var stagePeers = from.Select(f => Map(f, "podSelector", "matchLabels")).Where(s => s.ContainsKey("app.kubernetes.io/component")).Select(s => (string)s["app.kubernetes.io/component"]).ToList();

            Assert.NotNull(Text(pdb, "spec", "maxUnavailable") ?? Text(pdb, "spec", "minAvailable"));
            Assert.True(Int(hpa, "spec", "minReplicas") >= 2, $"{stage}: HPA minReplicas < 2 leaves no replica during a disruption");
            Assert.Equal(callers.GetValueOrDefault(stage) is { } caller ? [caller] : [], stagePeers);
            Assert.Contains(from, f => Text(f, "podSelector", "matchLabels", "graphpipe.io/client") == "true");
            Assert.Contains(from, f => At(f, "namespaceSelector") is not null);
        }
    }

    [Fact]
    public async Task ProbePaths_OfManifestsOverlaysAndDockerfile_AreAnsweredByARealServer()
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var stage in Stages)
        {
            var container = Container(Deployment(Base(), stage));
            foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            {
                paths.Add(Text(container, probe, "httpGet", "path")!);
            }
        }

        foreach (var url in SecureProbeCommands().Select(c => c[2]).Append(DockerHealthCheck()[2]))
        {
            paths.Add(new Uri(url).AbsolutePath);
        }

        await using var host = await GraphPipeStageHost.StartAsync(DelegateStage.Identity("stage"), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(new Uri(host.Address, path.TrimStart('/')), Ct).WaitAsync(Limits.Step, Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            Assert.Contains("status", body, StringComparison.Ordinal);
        }

        Assert.Contains("/v2/health/ready", paths);
    }

    [Fact]
    public void SecureOverlay_EnvNamesAreTheCliOnesAndProbesRunTheProbeCommandOverHttpsOnTheStagesPort()
    {
        var docs = Base();
        var overlay = Manifests.Path("deploy", "k8s", "overlays", "secure");
        var kustomization = Load(System.IO.Path.Combine(overlay, "kustomization.yaml")).Single();
        var patches = List(kustomization, "patches").Select(p => Text(p, "path")!).ToList();
        Assert.Equal(Stages.Order(), patches.Select(p => p.Replace(".yaml", string.Empty, StringComparison.Ordinal)).Order());
        var probeEnv = EnvironmentNames(Subcommand("probe"));
        foreach (var stage in Stages)
        {
            var patch = Load(System.IO.Path.Combine(overlay, stage + ".yaml")).Single();
            var container = Container(patch);
            var baseDeployment = Deployment(docs, stage);
            var serveCommand = ParseCli(Args(baseDeployment)).CommandResult.Command;
            var known = EnvironmentNames(serveCommand);
            var env = List(container, "env").Cast<Dictionary<object, object>>().ToDictionary(e => Text(e, "name")!, e => Text(e, "value")!);

            Assert.Equal(Name(baseDeployment), Name(patch));
            Assert.All(env.Keys, name => Assert.True(known.Contains(name) || probeEnv.Contains(name), $"{stage}: {name} is not a graphpipe environment variable"));
            Assert.Contains("GP_TLS_CERT", env.Keys);
            Assert.Contains("GP_CLIENT_CA", env.Keys);
            Assert.Contains("GP_API_KEY_FILE", env.Keys);
            if (env.TryGetValue("GP_NEXT", out var next))
            {
                Assert.Equal(Uri.UriSchemeHttps, new Uri(next).Scheme);
                Assert.Contains("GP_NEXT_CLIENT_CERT", env.Keys);
                Assert.Contains("GP_NEXT_API_KEY_FILE", env.Keys);
            }

            foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            {
                var command = List(container, probe, "exec", "command").Cast<string>().ToArray();
                Assert.Equal("/app/graphpipe", command[0]);
                ParseCli(command.Skip(1));
                var url = new Uri(command[2]);
                Assert.Equal(Uri.UriSchemeHttps, url.Scheme);
                Assert.Equal(ListenPort(baseDeployment), url.Port);
                // Strategic merge: httpGet must be removed, or the probe would have two handlers.
                Assert.True(Map(container, probe).ContainsKey("httpGet") && At(container, probe, "httpGet") is null, $"{stage} {probe}: httpGet not set to null");
            }
        }
    }

    [Fact]
    public void Kustomizations_ReferenceFilesThatExist()
    {
        foreach (var file in Directory.GetFiles(Manifests.Path("deploy", "k8s"), "kustomization.yaml", SearchOption.AllDirectories))
        {
            var kustomization = Load(file).Single();
            var dir = System.IO.Path.GetDirectoryName(file)!;
            var references = List(kustomization, "resources").Cast<string>().Concat(List(kustomization, "patches").Select(p => Text(p, "path")).OfType<string>());
            foreach (var reference in references)
            {
                var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, reference));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{file}: {reference} does not exist");
                if (File.Exists(path))
                {
                    Assert.NotEmpty(Load(path));
                }
            }
        }
    }

    [Fact]
    public void Dockerfile_PublishesLinuxX64WithoutPdbsRunsAsNonRootAndProbesItself()
    {
        var lines = File.ReadAllLines(Manifests.Path("deploy", "Dockerfile"));
        var text = string.Join('\n', lines);
        var user = lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))[5..].Trim();
        var ignore = File.ReadAllLines(Manifests.Path(".dockerignore")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        var cmd = JsonSerializer.Deserialize<string[]>(lines.Single(l => l.StartsWith("CMD ", StringComparison.Ordinal))[4..])!;
        var expose = int.Parse(lines.Single(l => l.StartsWith("EXPOSE ", StringComparison.Ordinal))[7..], System.Globalization.CultureInfo.InvariantCulture);
        var health = DockerHealthCheck();

        Assert.Contains("-r linux-x64", text, StringComparison.Ordinal);
        Assert.Contains("-p:DebugType=none", text, StringComparison.Ordinal);
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
        Assert.Contains(".git/", ignore);
        Assert.Equal(expose, ListenAddress.Parse(Value<string>(ParseCli(cmd), "--listen")!).Port);
        Assert.Equal("/app/graphpipe", health[0]);
        ParseCli(health.Skip(1));
        Assert.Equal(expose, new Uri(health[2]).Port);
    }

    private static string[] DockerHealthCheck()
    {
        var text = File.ReadAllText(Manifests.Path("deploy", "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        var line = text.Split('\n').Single(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        return JsonSerializer.Deserialize<string[]>(line[(line.IndexOf("CMD ", StringComparison.Ordinal) + 4)..])!;
    }

    private static IEnumerable<string[]> SecureProbeCommands()
    {
        var overlay = Manifests.Path("deploy", "k8s", "overlays", "secure");
        foreach (var stage in Stages)
        {
            var container = Container(Load(System.IO.Path.Combine(overlay, stage + ".yaml")).Single());
            foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            {
                yield return List(container, probe, "exec", "command").Cast<string>().ToArray();
            }
        }
    }
}
