using GraphPipe.TestMessages;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>
/// Parsing (and walking what was parsed, as a stage does) must cost memory in proportion to the message,
/// however many entries of it point at one shared object.
/// </summary>
public sealed class ParseAmplificationTests
{
    // Generous for honest messages (they measure 1-5x), far below what aliasing used to cost (hundreds of x).
    private const long Factor = 8;
    private const long Slack = 64 * 1024;

    [Fact]
    public void ReadRequest_StringTensorAliased40Times_RefusedNamingTheField()
    {
        var wire = AliasedRequests.StringTensor(stringRefs: 250_000, tensorRefs: 40);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains("input_tensors[", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more data than it carries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_StringTensorAliased40Times_AllocatesAtMost8xTheMessage()
    {
        var wire = AliasedRequests.StringTensor(stringRefs: 250_000, tensorRefs: 40);

        var allocated = AllocatedByParseAndWalk(wire);

        Assert.True(allocated <= (Factor * wire.Length) + Slack, $"parsing a {wire.Length}-byte message allocated {allocated} bytes");
    }

    [Fact]
    public void ReadRequest_OneNameAliased20000Times_AllocatesAtMost8xTheMessage()
    {
        var wire = AliasedRequests.InputNames(nameRefs: 20_000, nameLength: 1000);

        var allocated = AllocatedByParseAndWalk(wire);

        Assert.True(allocated <= (Factor * wire.Length) + Slack, $"parsing a {wire.Length}-byte message allocated {allocated} bytes");
    }

    [Fact]
    public void ReadRequest_OneNameAliased_RefusedNamingInputNames()
    {
        var wire = AliasedRequests.InputNames(nameRefs: 20_000, nameLength: 1000);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains("input_names", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(100_000)]
    public void ReadRequest_OrdinaryRequests_ParseWithinTheBound(int elements)
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest
        {
            Config = "http://next",
            InputNames = ["text", "scalar", "pixels", "empty"],
            Inputs =
            [
                Tensor.FromStrings(Enumerable.Range(0, elements).Select(i => (i % 7 == 0) ? string.Empty : $"s{i}").ToArray()),
                Tensor.Scalar(1f),
                Tensor.Create<float>(new float[elements], 1, elements),
                Tensor.Create<float>([], 0, 3),
            ],
            OutputNames = ["out"],
        }).ToArray();

        var allocated = AllocatedByParseAndWalk(wire);

        Assert.Equal(elements, GraphPipeReader.ReadRequest(wire).Infer!.Inputs[0].Strings.Count);
        Assert.True(allocated <= (Factor * wire.Length) + Slack, $"parsing a {wire.Length}-byte message allocated {allocated} bytes");
    }

    [Fact]
    public void ReadRequest_ManyScalarTensors_ParseWithinTheBound()
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest
        {
            Inputs = Enumerable.Range(0, 10_000).Select(i => Tensor.Scalar((byte)i)).ToArray(),
        }).ToArray();

        var allocated = AllocatedByParseAndWalk(wire);

        Assert.Equal(10_000, GraphPipeReader.ReadRequest(wire).Infer!.Inputs.Count);
        Assert.True(allocated <= (Factor * wire.Length) + Slack, $"parsing a {wire.Length}-byte message allocated {allocated} bytes");
    }

    /// <summary>Bytes allocated by parsing <paramref name="wire"/> and decoding every name and string element, as a stage would.</summary>
    private static long AllocatedByParseAndWalk(byte[] wire)
    {
        ParseAndWalk(new GraphPipeWriter().WriteInferRequest(new InferRequest { InputNames = ["x"], Inputs = [Tensor.FromStrings("y")] }).ToArray());
        var before = GC.GetAllocatedBytesForCurrentThread();
        ParseAndWalk(wire);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void ParseAndWalk(byte[] wire)
    {
        try
        {
            var infer = GraphPipeReader.ReadRequest(wire).Infer!;
            foreach (var tensor in infer.Inputs)
            {
                if (tensor.IsString)
                {
                    GC.KeepAlive(tensor.ToStringArray());
                }
            }
        }
        catch (GraphPipeFormatException)
        {
            // Refused: what the attempt allocated is still counted.
        }
    }
}
