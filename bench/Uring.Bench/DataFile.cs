using System.Buffers.Binary;
using System.Diagnostics;

namespace Uring.Bench;

/// <summary>
/// The file the read benchmarks use: 1 GiB of real data (every block written, nothing sparse),
/// 4 KiB blocks that each say who they are, so that every read can be checked. Block
/// <c>b</c> holds 512 little-endian 64-bit words: word 0 is <c>b</c>, word 1 is
/// <see cref="Magic"/>, word <c>j</c> ≥ 2 is <c>Mix(b * 512 + j)</c> (a SplitMix64 step, so the
/// content is incompressible and no two blocks are alike). Created once, fsynced, and reused
/// while its size and a sample of its blocks check out.
/// </summary>
internal static class DataFile
{
    public const int BlockSize = 4096;
    public const long Size = 1L << 30;
    public const long Blocks = Size / BlockSize;
    private const ulong Magic = 0x4B4C_4247_4E49_5255; // "URINGBLK"
    private const int Words = BlockSize / 8;

    /// <summary>Where the file lives: $URING_BENCH_DIR, else the temp directory (a real disk
    /// here, where O_DIRECT works; the O_DIRECT cases fail loudly on a file system without it).</summary>
    public static string PathName { get; } = System.IO.Path.Combine(
        Environment.GetEnvironmentVariable("URING_BENCH_DIR") is { Length: > 0 } dir ? dir : System.IO.Path.GetTempPath(),
        "uring-bench-blocks-1G.dat");

    public static string Prepare()
    {
        if (File.Exists(PathName) && new FileInfo(PathName).Length == Size && SampleChecksOut(PathName))
            return PathName;
        var clock = Stopwatch.StartNew();
        var temporary = $"{PathName}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var chunk = new byte[1 << 20];
            for (long block = 0; block < Blocks; block += chunk.Length / BlockSize)
            {
                for (var i = 0; i < chunk.Length / BlockSize; i++)
                    Fill(chunk.AsSpan(i * BlockSize, BlockSize), block + i);
                stream.Write(chunk);
            }
            stream.Flush(flushToDisk: true); // no dirty pages left: O_DIRECT reads go to the device
        }
        File.Move(temporary, PathName, overwrite: true);
        Console.Error.WriteLine($"uring-bench: wrote {PathName} ({Size >> 20} MiB) in {clock.Elapsed.TotalSeconds:F1} s");
        return PathName;
    }

    private static bool SampleChecksOut(string path)
    {
        using var handle = File.OpenHandle(path);
        var block = new byte[BlockSize];
        var random = new Random(12345);
        for (var i = 0; i < 64; i++)
        {
            var index = i == 0 ? Blocks - 1 : random.NextInt64(Blocks);
            if (RandomAccess.Read(handle, block, index * BlockSize) != BlockSize || !IsBlock(block, index))
                return false;
        }
        return true;
    }

    public static ulong Mix(ulong x)
    {
        x += 0x9E37_79B9_7F4A_7C15;
        x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9;
        x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB;
        return x ^ (x >> 31);
    }

    public static void Fill(Span<byte> block, long index)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(block, (ulong)index);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], Magic);
        for (var j = 2; j < Words; j++)
            BinaryPrimitives.WriteUInt64LittleEndian(block[(j * 8)..], Mix((ulong)index * Words + (ulong)j));
    }

    /// <summary>The cheap check done on every read: the block's first 16 bytes name it.</summary>
    public static bool HasHeader(ReadOnlySpan<byte> block, long index) =>
        BinaryPrimitives.ReadUInt64LittleEndian(block) == (ulong)index &&
        BinaryPrimitives.ReadUInt64LittleEndian(block[8..]) == Magic;

    /// <summary>The full check (every word), done on a sample of the reads.</summary>
    public static bool IsBlock(ReadOnlySpan<byte> block, long index)
    {
        if (block.Length != BlockSize || !HasHeader(block, index))
            return false;
        for (var j = 2; j < Words; j++)
            if (BinaryPrimitives.ReadUInt64LittleEndian(block[(j * 8)..]) != Mix((ulong)index * Words + (ulong)j))
                return false;
        return true;
    }

    /// <summary>Checks one read: <paramref name="count"/> is the reader's running count, and every
    /// <see cref="FullCheckEvery"/>th read is checked word by word, the others by their header.</summary>
    public static void Verify(int bytesRead, ReadOnlySpan<byte> block, long index, long count)
    {
        if (bytesRead != BlockSize)
            throw new InvalidDataException($"read of block {index} returned {bytesRead} bytes, expected {BlockSize}");
        var ok = (count & (FullCheckEvery - 1)) == 0 ? IsBlock(block, index) : HasHeader(block, index);
        if (!ok)
            throw new InvalidDataException($"block {index} read back with the wrong content");
    }

    public const int FullCheckEvery = 64;
}
