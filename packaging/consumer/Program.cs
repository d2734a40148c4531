using System.Security.Cryptography;
using Uring;
using Uring.Bindings;

// Reads a file through io_uring, 16 KiB per Ring.Read, and prints which liburing did it, the
// number of bytes and their SHA-256.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ReadFile FILE");
    return 2;
}

using var ring = new Ring();
using var file = File.OpenHandle(args[0]);
using var buffer = OwnershipMemory.Allocate(16 * 1024);
using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
long total = 0;
while (true)
{
    var (read, returned) = await ring.Read(file, buffer, offset: total);
    if (read == 0)
        break;
    hash.AppendData(returned.Span[..read]);
    total += read;
}

Console.WriteLine($"liburing {Liburing.io_uring_major_version()}.{Liburing.io_uring_minor_version()} from {LiburingLibrary.LoadedFrom}");
Console.WriteLine($"read {total} bytes, sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())}");
return 0;
