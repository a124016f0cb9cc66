using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>Malformed input must give <see cref="GraphPipeFormatException"/> and nothing else, quickly.</summary>
public sealed class ParserRobustnessTests
{
    private static byte[] ValidRequest() => new GraphPipeWriter().WriteInferRequest(new InferRequest
    {
        Config = "http://next",
        InputNames = ["a", "b"],
        Inputs = [Tensor.Create<float>([1f, 2, 3, 4, 5, 6], 2, 3), Tensor.FromStrings("x", "yz")],
        OutputNames = ["out"],
    }).ToArray();

    [Fact]
    public void ReadRequest_EveryTruncation_ThrowsFormatExceptionOnly()
    {
        var valid = ValidRequest();
        for (var length = 0; length < valid.Length; length++)
        {
            AssertParsesOrFormatError(valid.AsMemory(0, length).ToArray(), $"prefix {length}");
        }
    }

    [Fact]
    public void ReadRequest_RandomBuffers_ThrowFormatExceptionOnly()
    {
        var random = new Random(20261125);
        for (var i = 0; i < 5000; i++)
        {
            var buffer = new byte[random.Next(0, 256)];
            random.NextBytes(buffer);
            AssertParsesOrFormatError(buffer, $"random #{i}");
        }
    }

    [Fact]
    public void ReadRequest_MutatedValidBuffers_ThrowFormatExceptionOnly()
    {
        var random = new Random(7);
        var valid = ValidRequest();
        for (var i = 0; i < 10000; i++)
        {
            var buffer = (byte[])valid.Clone();
            var flips = random.Next(1, 6);
            for (var f = 0; f < flips; f++)
            {
                var pos = random.Next(buffer.Length);
                buffer[pos] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => 0xFF,
                    _ => 0,
                };
            }

            AssertParsesOrFormatError(buffer, $"mutation #{i}");
            AssertResponseParsesOrFormatError(buffer, $"mutation #{i}");
        }
    }

    [Fact]
    public void ReadRequest_HugeVectorLength_IsRejectedWithoutAllocating()
    {
        var valid = ValidRequest();
        // Every 4-byte word in turn becomes 0x7FFFFFFF: vector lengths and offsets alike must be bounds-checked.
        for (var pos = 0; pos + 4 <= valid.Length; pos += 4)
        {
            var buffer = (byte[])valid.Clone();
            BitConverter.TryWriteBytes(buffer.AsSpan(pos), int.MaxValue);
            AssertParsesOrFormatError(buffer, $"word {pos}");
        }
    }

    [Fact]
    public void ReadRequest_TooShort_MessageSaysWhy()
    {
        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(new byte[3]));
        Assert.Contains("shorter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_DataLengthDisagreesWithShape_NamesTheTensor()
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest
        {
            Inputs = [Tensor.Create<float>([1f, 2f], 2)],
        }).ToArray();
        // Shape vector holds [2]; make it [3] so 8 bytes of data no longer match 12 needed.
        var index = FindLong(wire, 2);
        BitConverter.TryWriteBytes(wire.AsSpan(index), 3L);
        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));
        Assert.Contains("input_tensors[0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("12", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_ShapeOfAMillionDimensions_RefusedNamingTheShapeAndTheLimit()
    {
        var wire = WithOnes(1_000_000);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains("input_tensors[0].shape", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"limit of {GraphPipeReader.MaxRank}", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 300, ex.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ReadRequest_ShapeAtTheRankLimit_Parses()
    {
        var tensor = GraphPipeReader.ReadRequest(WithOnes(GraphPipeReader.MaxRank)).Infer!.Inputs[0];

        Assert.Equal(GraphPipeReader.MaxRank, tensor.Shape.Length);
    }

    private static byte[] WithOnes(int rank) => new GraphPipeWriter().WriteInferRequest(new InferRequest
    {
        Inputs = [Tensor.Create<float>([1f], Enumerable.Repeat(1L, rank).ToArray())],
    }).ToArray();

    [Fact]
    public void TryReadRequest_Garbage_ReturnsFalseWithMessage()
    {
        Assert.False(GraphPipeReader.TryReadRequest(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, out var request, out var error));
        Assert.Null(request);
        Assert.StartsWith("Malformed GraphPipe message", error, StringComparison.Ordinal);
    }

    private static int FindLong(byte[] buffer, long value)
    {
        for (var i = 0; i + 8 <= buffer.Length; i += 4)
        {
            if (BitConverter.ToInt64(buffer, i) == value) return i;
        }

        throw new InvalidOperationException("value not found");
    }

    private static void AssertParsesOrFormatError(byte[] buffer, string what)
    {
        try
        {
            var request = GraphPipeReader.ReadRequest(buffer);
            // A mutation may still be a valid message; then touching every tensor must be safe too.
            foreach (var tensor in request.Infer?.Inputs ?? [])
            {
                _ = tensor.IsString ? tensor.Strings.Sum(s => s.Length) : tensor.Data.Length;
            }
        }
        catch (GraphPipeFormatException)
        {
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what}: {ex.GetType().Name} escaped the parser: {ex.Message}");
        }
    }

    private static void AssertResponseParsesOrFormatError(byte[] buffer, string what)
    {
        try
        {
            _ = GraphPipeReader.ReadInferResponse(buffer);
            _ = GraphPipeReader.ReadMetadataResponse(buffer);
        }
        catch (GraphPipeFormatException)
        {
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what}: {ex.GetType().Name} escaped the response parser: {ex.Message}");
        }
    }
}
