namespace Uring.Tests;

/// <summary>Temporary files with known contents.</summary>
internal sealed class TestFiles : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uring-tests-").FullName;

    public string PathOf(string name) => Path.Combine(_dir, name);

    public static byte PatternByte(long offset) => (byte)((offset * 31 + (offset >> 9)) & 0xFF);

    /// <summary>A file whose byte at offset i is <see cref="PatternByte"/>(i).</summary>
    public string CreatePatterned(string name, int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
            data[i] = PatternByte(i);
        var path = PathOf(name);
        File.WriteAllBytes(path, data);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
