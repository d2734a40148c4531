namespace Uring.Cli;

/// <summary>How <c>uring cp</c> copies: buffers in flight, their size, and an optional byte limit.</summary>
public sealed record CopyOptions(int Depth = CopyCommand.DefaultDepth, int BlockSize = CopyCommand.DefaultBlockSize, long? MaxBytes = null);
