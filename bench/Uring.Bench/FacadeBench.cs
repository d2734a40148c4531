namespace Uring.Bench;

/// <summary>The façade's side of the comparison (filled in once src/Uring exists).</summary>
internal static class FacadeBench
{
    public static IEnumerable<Measurement> Nop(int batch, long total) => [];

    public static Task<IEnumerable<Measurement>> Reads(string file, int queueDepth, long total) =>
        Task.FromResult<IEnumerable<Measurement>>([]);
}
