using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using GraphPipe.Stages;

namespace GraphPipe.Caching;

/// <summary>
/// The cache key of a request: SHA-256 over the scope (stage, version, model fingerprint), every input's
/// name, type, shape and bytes, the requested outputs and the config. A collision-resistant hash, because
/// a shared cache must not let one client's crafted request stand in for another's.
/// </summary>
internal static class ResponseCacheKey
{
    private const string Prefix = "gp1:";

    [ThreadStatic]
    private static IncrementalHash? t_hash;

    public static string Compute(string scope, StageRequest request)
    {
        var hash = t_hash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        AppendText(hash, scope, number);
        AppendLength(hash, request.Inputs.Count, number);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var tensor = request.Inputs[i];
            AppendText(hash, request.InputNames[i], number);
            hash.AppendData([(byte)tensor.Type]);
            AppendLength(hash, tensor.Shape.Length, number);
            foreach (var dim in tensor.Shape)
            {
                AppendLength(hash, dim, number);
            }

            if (tensor.IsString)
            {
                AppendLength(hash, tensor.Strings.Count, number);
                foreach (var s in tensor.Strings)
                {
                    AppendLength(hash, s.Length, number);
                    hash.AppendData(s.Span);
                }
            }
            else
            {
                AppendLength(hash, tensor.Data.Length, number);
                hash.AppendData(tensor.Data.Span);
            }
        }

        AppendLength(hash, request.OutputNames.Count, number);
        foreach (var name in request.OutputNames)
        {
            AppendText(hash, name, number);
        }

        AppendText(hash, request.Config, number);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return string.Concat(Prefix, Convert.ToHexStringLower(digest));
    }

    private static void AppendLength(IncrementalHash hash, long value, Span<byte> buffer)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        hash.AppendData(buffer);
    }

    private static void AppendText(IncrementalHash hash, string text, Span<byte> number)
    {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        var byteCount = Encoding.UTF8.GetByteCount(text);
        AppendLength(hash, byteCount, number);
        if (byteCount <= 256)
        {
            Span<byte> utf8 = stackalloc byte[256];
            var written = Encoding.UTF8.GetBytes(text, utf8);
            hash.AppendData(utf8[..written]);
        }
        else
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
        }
    }
}
