using System.Net;
using System.Text.Json;
using GraphPipe.FunctionalTests.OpenInference;
using GraphPipe.Reloading;
using GraphPipe.Server;
using GraphPipe.Stages;
using GraphPipe.Tests;
using GraphPipe.Wire;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests.Server;

/// <summary>Stages added while a host serves (<see cref="GraphPipeServingBuilder.AddStageDirectory"/>): routes, versions, forwarding and the OIP door, without a restart.</summary>
public sealed class StageDirectoryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<float[]> PostAsync(HttpClient http, Uri uri, params float[] values)
    {
        var response = await RawHttp.PostAsync(http, uri, RawHttp.EncodeFloats(values), Ct).WaitAsync(Limits.Step, Ct);
        Assert.True(response.Status == HttpStatusCode.OK, $"{uri}: {(int)response.Status} {response.Text}");
        return Assert.Single(GraphPipeReader.ReadInferResponse(response.Body).Outputs).ToArray<float>();
    }

    private static async Task<string> MetadataNameAsync(HttpClient http, Uri uri)
    {
        using var json = JsonDocument.Parse(await http.GetStringAsync(uri, Ct).WaitAsync(Limits.Step, Ct));
        return json.RootElement.GetProperty("name").GetString()!;
    }

    [Fact]
    public async Task AddStageDirectory_StageAddedWhileServing_AnswersAtItsPathOverGraphPipeAndOip()
    {
        var directory = new TestStageDirectory();
        await using var host = await OipHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStageDirectory(_ => directory), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();
        // Before it is added, its path is any other path: the default stage answers.
        Assert.Equal((float[])[2f, 4f], await PostAsync(http, new Uri(host.Address, "triple"), 1, 2));
        var before = await RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "v2/models/triple/ready")), Ct).WaitAsync(Limits.Step, Ct);

        directory.Add("triple", DelegateStage.Times("triple", 3));

        Assert.Equal(HttpStatusCode.NotFound, before.Status);
        Assert.Equal((float[])[3f, 6f], await PostAsync(http, new Uri(host.Address, "triple"), 1, 2));
        Assert.Equal("triple", await MetadataNameAsync(http, new Uri(host.Address, "triple")));
        Assert.Equal((float[])[2f, 4f], await PostAsync(http, host.Address, 1, 2));
        var ready = await RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "v2/models/triple/ready")), Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        var health = await http.GetStringAsync(new Uri(host.Address, "control/is_ready"), Ct).WaitAsync(Limits.Step, Ct);
        Assert.Contains("double,triple", health, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddStageDirectory_VersionedStageAdded_EachVersionAtItsPathAndAMissingOneIs404()
    {
        var directory = new TestStageDirectory();
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStageDirectory(_ => directory), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        directory.Add("m", new TwoVersions(DelegateStage.Times("m", 10), DelegateStage.Times("m", 100)));

        Assert.Equal((float[])[100f], await PostAsync(http, new Uri(host.Address, "m"), 1));
        Assert.Equal((float[])[10f], await PostAsync(http, new Uri(host.Address, "m/versions/1"), 1));
        Assert.Equal((float[])[100f], await PostAsync(http, new Uri(host.Address, "m/versions/2"), 1));
        var missing = await RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "m/versions/7")), Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Contains("[m] no version '7' (versions: 1, 2)", missing.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddStageDirectory_ServedLikeAForwardingStage_TheAddedStageForwardsToTheSameNext()
    {
        var directory = new TestStageDirectory();
        await using var next = await GraphPipeStageHost.StartAsync(DelegateStage.Times("ten", 10), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        await using var host = await GraphPipeStageHost.StartAsync(s => s
            .AddForwardingStage("double", DelegateStage.Times("double", 2), new ForwardingOptions { Next = next.Address }, isDefault: true)
            .AddStageDirectory(_ => directory, servedLike: "double"), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        directory.Add("triple", DelegateStage.Times("triple", 3));

        Assert.Equal((float[])[20f], await PostAsync(http, host.Address, 1));
        Assert.Equal((float[])[30f], await PostAsync(http, new Uri(host.Address, "triple"), 1));
    }

    [Fact]
    public async Task AddStageDirectory_NameOfAStageServedAlready_KeepsTheFirstAndLogsWhy()
    {
        var directory = new TestStageDirectory();
        var log = new LogLines();
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStageDirectory(_ => directory),
            logging: b => b.AddProvider(new LogLinesProvider(log)), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        directory.Add("double", DelegateStage.Times("other", 5));
        directory.Add("metrics", DelegateStage.Times("metrics", 7));

        Assert.Equal((float[])[2f], await PostAsync(http, new Uri(host.Address, "double"), 1));
        Assert.Contains(log.Lines, l => l.Contains("Stage double was added while serving but is not served: its path /double is another stage's", StringComparison.Ordinal));
        // A reserved name gets the same path a stage registered at start would (SafeName): the host's own path stays the host's.
        Assert.Equal((float[])[7f], await PostAsync(http, new Uri(host.Address, "metrics_stage"), 1));
        var metrics = await RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "metrics")), Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal(HttpStatusCode.NotFound, metrics.Status);
        Assert.Contains("metrics are off", metrics.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddStageDirectory_AddedBeforeTheHostStarted_ServedFromTheStart()
    {
        var directory = new TestStageDirectory();
        directory.Add("early", DelegateStage.Times("early", 4));
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStageDirectory(_ => directory), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        Assert.Equal((float[])[4f], await PostAsync(http, new Uri(host.Address, "early"), 1));
    }

    [Fact]
    public async Task AddStageDirectory_ServedLikeAStageThatIsNot_HostFailsToStartNamingIt()
    {
        var directory = new TestStageDirectory();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GraphPipeStageHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStageDirectory(_ => directory, servedLike: "nope"), cancellationToken: Ct)).WaitAsync(Limits.Step, Ct);

        Assert.Contains("'nope', which is not a stage of this host", error.Message, StringComparison.Ordinal);
    }

    private sealed class TestStageDirectory : IStageDirectory
    {
        private readonly List<KeyValuePair<string, IInferenceStage>> _stages = [];

        public IReadOnlyList<KeyValuePair<string, IInferenceStage>> Stages
        {
            get
            {
                lock (_stages) return [.. _stages];
            }
        }

        public event EventHandler<StageAddedEventArgs>? StageAdded;

        public void Add(string name, IInferenceStage stage)
        {
            lock (_stages) _stages.Add(KeyValuePair.Create(name, stage));
            StageAdded?.Invoke(this, new StageAddedEventArgs(name, stage));
        }
    }

    private sealed class TwoVersions(IInferenceStage one, IInferenceStage two) : IVersionedStage
    {
        public StageMetadata Metadata => two.Metadata;

        public IReadOnlyList<string> Versions => ["1", "2"];

        public IInferenceStage? FindVersion(string version) => version switch { "1" => one, "2" => two, _ => null };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => two.InferAsync(request, cancellationToken);
    }
}
