using System.Net;

namespace GraphPipe.FunctionalTests;

/// <summary>
/// Throws garbage and near-valid requests at a real add_mul server: each must get a 200 or a 400 (never a
/// 500, never a hang), and the server must keep serving afterwards. The seed is fixed so a failure
/// reproduces; the assertion message gives the case index and the body in base64.
/// </summary>
public sealed class ServerFuzzTests
{
    private const int Seed = 1234;
    private const int RandomCases = 500;
    private const int MutationCases = 1000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Post_RandomAndMutatedBodies_AlwaysAnswer200Or400AndKeepServing()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);
        var valid = RawHttp.Encode(new InferRequest
        {
            InputNames = ["x"],
            Inputs = [Tensor.Create<float>([1f, 2f, 3f, 4f, -1f, -2f, -3f, -4f], 2, 4)],
            OutputNames = ["y"],
        });
        var cases = GenerateCases(valid, new Random(Seed));
        var statuses = new Dictionary<HttpStatusCode, int>();

        for (var i = 0; i < cases.Count; i++)
        {
            var (kind, body) = cases[i];
            RawResponse response;
            try
            {
                response = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            }
            catch (Exception ex) when (ex is TimeoutException or HttpRequestException or TaskCanceledException)
            {
                Assert.Fail($"seed {Seed}, case {i} ({kind}): no response ({ex.GetType().Name}: {ex.Message}); body {Convert.ToBase64String(body)}");
                throw;
            }

            statuses[response.Status] = statuses.GetValueOrDefault(response.Status) + 1;
            Assert.True(
                response.Status is HttpStatusCode.OK or HttpStatusCode.BadRequest,
                $"seed {Seed}, case {i} ({kind}): status {(int)response.Status} '{response.Text}'; body {Convert.ToBase64String(body)}");
            if (response.Status == HttpStatusCode.BadRequest)
            {
                Assert.True(response.Text.StartsWith("[add_mul] ", StringComparison.Ordinal), $"seed {Seed}, case {i} ({kind}): 400 without the stage prefix: '{response.Text}'");
            }
        }

        // Both outcomes occur, so the mutations reach past the parser as well as failing in it.
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.OK) > 0, $"no case was accepted: {string.Join(", ", statuses)}");
        Assert.True(statuses.GetValueOrDefault(HttpStatusCode.BadRequest) > 0, $"no case was rejected: {string.Join(", ", statuses)}");

        var y = await server.Client.InferAsync(Tensor.Create<float>([0.5f, 1f, 1.5f, 2f], 1, 4), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal([2f, 3f, 4f, 5f], y.ToArray<float>());
    }

    private static List<(string Kind, byte[] Body)> GenerateCases(byte[] valid, Random random)
    {
        var cases = new List<(string, byte[])>(RandomCases + MutationCases);
        for (var i = 0; i < RandomCases; i++)
        {
            var body = new byte[random.Next(0, 513)];
            random.NextBytes(body);
            cases.Add(("random", body));
        }

        for (var i = 0; i < MutationCases; i++)
        {
            cases.Add((i % 4) switch
            {
                0 => ("flip", Flip(valid, random, 1)),
                1 => ("flips", Flip(valid, random, random.Next(2, 9))),
                2 => ("truncate", valid[..random.Next(0, valid.Length)]),
                _ => ("insert", Insert(valid, random)),
            });
        }

        return cases;
    }

    private static byte[] Flip(byte[] valid, Random random, int count)
    {
        var body = (byte[])valid.Clone();
        for (var j = 0; j < count; j++)
        {
            var at = random.Next(body.Length);
            // Alternate between single-bit flips and whole-byte replacements.
            body[at] = random.Next(2) == 0 ? (byte)(body[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
        }

        return body;
    }

    private static byte[] Insert(byte[] valid, Random random)
    {
        var extra = new byte[random.Next(1, 17)];
        random.NextBytes(extra);
        var at = random.Next(valid.Length + 1);
        return [.. valid.AsSpan(0, at), .. extra, .. valid.AsSpan(at)];
    }
}
