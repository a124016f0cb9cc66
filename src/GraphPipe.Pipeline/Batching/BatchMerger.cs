using System.Buffers;
using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>Stacks the inputs of compatible requests along dimension 0, and cuts a batch's outputs back into per-request results.</summary>
internal static class BatchMerger
{
    /// <summary>
    /// One request holding every entry's rows in order. Each input is copied once into a buffer from
    /// <paramref name="pool"/>, listed in <paramref name="rented"/>: the caller returns them after the batch's result
    /// is disposed (outputs may alias inputs).
    /// </summary>
    public static StageRequest Merge(IReadOnlyList<BatchEntry> group, long rows, ArrayPool<byte> pool, out byte[][] rented)
    {
        var first = group[0].Request;
        var count = first.Inputs.Count;
        var inputs = new Tensor[count];
        rented = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var bytes = 0;
            foreach (var entry in group)
            {
                bytes = checked(bytes + entry.Request.Inputs[i].Data.Length);
            }

            var buffer = pool.Rent(bytes);
            rented[i] = buffer;
            var offset = 0;
            foreach (var entry in group)
            {
                var data = entry.Request.Inputs[i].Data.Span;
                data.CopyTo(buffer.AsSpan(offset));
                offset += data.Length;
            }

            var template = first.Inputs[i];
            var shape = template.Shape.ToArray();
            shape[0] = rows;
            inputs[i] = Tensor.FromBytes(template.Type, shape, buffer.AsMemory(0, bytes));
        }

        return new StageRequest(first.InputNames, inputs, first.OutputNames, first.Config);
    }

    /// <summary>Null when every output has <paramref name="rows"/> in dimension 0 and can be cut by rows; otherwise why not.</summary>
    public static string? CannotSplit(string stage, StageRequest merged, StageResult result, long rows)
    {
        for (var o = 0; o < result.Outputs.Count; o++)
        {
            var t = result.Outputs[o];
            if (t.Shape.Length == 0 || t.Shape[0] != rows)
            {
                var name = o < merged.OutputNames.Count ? merged.OutputNames[o] : o.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return $"stage '{stage}': output '{name}' came out {Echo.Shape(t.Shape.AsSpan())} for a batch of {rows} rows, so it cannot be split per request; serve this stage without batching";
            }
        }

        return null;
    }

    /// <summary>The rows [<paramref name="start"/>, start+<paramref name="rows"/>) of each output, as views of the batch's buffers (no copy of numeric data).</summary>
    public static Tensor[] Slice(IReadOnlyList<Tensor> outputs, long totalRows, long start, long rows)
    {
        var sliced = new Tensor[outputs.Count];
        for (var o = 0; o < sliced.Length; o++)
        {
            var t = outputs[o];
            var shape = t.Shape.ToArray();
            shape[0] = rows;
            if (t.IsString)
            {
                var perRow = t.Strings.Count / totalRows;
                var strings = new ReadOnlyMemory<byte>[perRow * rows];
                for (var i = 0; i < strings.Length; i++)
                {
                    strings[i] = t.Strings[(int)((start * perRow) + i)];
                }

                sliced[o] = Tensor.FromStrings(strings, shape);
            }
            else
            {
                var rowBytes = t.Data.Length / totalRows;
                sliced[o] = Tensor.FromBytes(t.Type, shape, t.Data.Slice((int)(start * rowBytes), (int)(rows * rowBytes)));
            }
        }

        return sliced;
    }
}

/// <summary>
/// Owns a merged batch's result and its pooled input buffers until every request's share of the outputs is
/// disposed: each request's <see cref="StageResult"/> holds one <see cref="Lease"/>.
/// </summary>
internal sealed class SharedBatchResult(StageResult batch, ArrayPool<byte> pool, byte[][] rented, int leases)
{
    private int _leases = leases;

    public IDisposable Lease() => new Share(this);

    private void Release()
    {
        if (Interlocked.Decrement(ref _leases) == 0)
        {
            batch.Dispose();
            ReturnBuffers(pool, rented);
        }
    }

    public static void ReturnBuffers(ArrayPool<byte> pool, byte[][] buffers)
    {
        foreach (var buffer in buffers)
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }
        }
    }

    private sealed class Share(SharedBatchResult owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release();
            }
        }
    }
}
