namespace Uring;

/// <summary>Who may touch an <see cref="OwnershipMemory"/>.</summary>
public enum OwnershipState
{
    /// <summary>The program owns it: spans, slices, submission and dispose are allowed.</summary>
    User,
    /// <summary>An operation borrowed it; only that operation's CQE gives it back.</summary>
    Kernel,
    /// <summary>Returned to its pool and waiting to be rented again.</summary>
    Pooled,
    /// <summary>Freed (or, for a slice, given up); every access throws.</summary>
    Released,
}
