namespace Uring.Cli;

/// <summary>A command refused its input at run time (for example a directory given as a file); the message says why.</summary>
public sealed class CommandException(string message) : Exception(message);
