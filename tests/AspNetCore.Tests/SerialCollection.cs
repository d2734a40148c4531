namespace Uring.AspNetCore.Tests;

/// <summary>Tests that change the whole process (its file descriptor limit) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial (process-wide limits)";
}
