namespace GraphPipe.BenchSuite;

/// <summary>Deterministic pseudo-random tensors (xorshift; no <see cref="Random"/>, whose sequence may change between runtimes).</summary>
internal static class TestData
{
    /// <summary>Values in [0, 1): like a normalised image, with full-precision mantissas (so JSON has to print ~9 digits).</summary>
    public static float[] Floats(int count, uint seed = 42)
    {
        var values = new float[count];
        var state = seed == 0 ? 1u : seed;
        for (var i = 0; i < values.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            values[i] = (state >> 8) / 16777216f;
        }

        return values;
    }

    /// <summary>An image-shaped float32 tensor <c>[1, 3, size, size]</c>.</summary>
    public static Tensor Image(int size, uint seed = 42) => Tensor.Create<float>(Floats(3 * size * size, seed), 1, 3, size, size);
}
