namespace Uring.Tests;

/// <summary>Tests that measure process-wide counters (open fds, native memory) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial (process-wide counters)";
}
