namespace Uring.Cli;

/// <summary>What a copy did.</summary>
/// <param name="Bytes">Length of the copy.</param>
/// <param name="Buffers">Buffers that were in flight at most.</param>
/// <param name="BufferSize">Size of each buffer.</param>
/// <param name="HoleBytes">Bytes of the source's holes left unwritten (the copy has holes there too).</param>
/// <param name="StoppedAtLimit">The copy stopped at <see cref="CopyOptions.MaxBytes"/>.</param>
/// <param name="Destination">The file written (inside DST when DST is a directory).</param>
public sealed record CopyResult(long Bytes, int Buffers, int BufferSize, long HoleBytes, bool StoppedAtLimit, string Destination);
