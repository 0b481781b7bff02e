using System.Buffers;

namespace ModelCaching;

/// <summary>Reads a stream into memory without going past a size limit.</summary>
internal static class ArtifactReader
{
    public static async Task<byte[]> ReadAllAsync(Stream stream, long maxBytes, string description, CancellationToken cancellationToken)
    {
        if (stream.CanSeek && stream.Length - stream.Position > maxBytes)
        {
            throw TooLarge(description, stream.Length - stream.Position, maxBytes);
        }

        using var buffer = stream.CanSeek ? new MemoryStream((int)Math.Min(stream.Length - stream.Position, int.MaxValue)) : new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw TooLarge(description, buffer.Length + read, maxBytes);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    public static InvalidDataException TooLarge(string description, long size, long maxBytes) =>
        new($"{description} is larger than the limit of {maxBytes:N0} bytes (at least {size:N0} bytes). Raise ModelOptions.MaxArtifactBytes if the model really is this large.");
}
