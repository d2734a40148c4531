using System.CommandLine;
using System.Diagnostics;
using Uring.Generator;
using Uring.Generator.Model;

var root = new RootCommand("uring-gen: liburing headers -> API model -> C# bindings, and API diffs between generations.");

var generationOption = new Option<string?>("--generation", "-g") { Description = "Pinned generation (liburing-headers/pins.txt); default: the pin file's default." };
var sysrootOption = new Option<string?>("--sysroot") { Description = "Generate from a root file system instead of a pin: DIR/usr/include and liburing-ffi.so.2 (or liburing.so.2) under DIR/usr/lib." };
var includeOption = new Option<string?>("--include") { Description = "Generate from the include directory holding liburing.h (for example /usr/include); needs --library." };
var libraryOption = new Option<string?>("--library") { Description = "The liburing-ffi.so.2 (or liburing.so.2) whose exports are bound; with --include, or to override --sysroot's." };
var outputOption = new Option<string?>("--output", "-o") { Description = "Output folder; default: src/Bindings/Generated for the default generation, artifacts/generated/GEN for other pins, artifacts/generated/local for --sysroot/--include." };
var pythonOption = new Option<string?>("--python") { Description = "Also write the Python errno module here; default: python/uring/_errno.py when the output is src/Bindings/Generated." };
var verboseOption = new Option<bool>("--verbose", "-v") { Description = "List the generator's notes (skipped macros, declared but unexported functions, …)." };
var generate = new Command("generate", "Regenerate the C# bindings and print what changed against the previous output.")
{
    generationOption, sysrootOption, includeOption, libraryOption, outputOption, pythonOption, verboseOption,
};
generate.SetAction(result => Generate(new GenerateRequest(
    result.GetValue(generationOption), result.GetValue(sysrootOption), result.GetValue(includeOption),
    result.GetValue(libraryOption), result.GetValue(outputOption), result.GetValue(pythonOption), result.GetValue(verboseOption))));
root.Subcommands.Add(generate);

var modelGeneration = new Argument<string>("generation") { Description = "Pinned generation" };
var modelOutput = new Option<string?>("--output", "-o") { Description = "JSON file; default: artifacts/models/GEN.json" };
var modelCommand = new Command("model", "Write the API model of a generation as JSON.") { modelGeneration, modelOutput };
modelCommand.SetAction(result => WriteModel(result.GetValue(modelGeneration)!, result.GetValue(modelOutput)));
root.Subcommands.Add(modelCommand);

var diffBefore = new Argument<string>("before") { Description = "Generation name or model .json" };
var diffAfter = new Argument<string>("after") { Description = "Generation name or model .json" };
var diff = new Command("diff", "Compare two generations' APIs: opcodes, constants, structs, fields, functions, errno names.") { diffBefore, diffAfter };
diff.SetAction(result => Diff(result.GetValue(diffBefore)!, result.GetValue(diffAfter)!));
root.Subcommands.Add(diff);

var operations = new Command("operations", "Regenerate what the operation table (src/Uring/Operations/operations.json) feeds: operation kinds and entry points, the C ABI, the Python surface, the docs table.");
operations.SetAction(_ => Uring.Generator.Operations.OperationsCommand.Run(Pins.Load().RepoRoot));
root.Subcommands.Add(operations);

try
{
    // Errors are reported below as one line; System.CommandLine's own handler would print a stack trace.
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception error) when (error is InvalidOperationException or ArgumentException or IOException or NotSupportedException
                              or DllNotFoundException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"uring-gen: {error.Message}");
    return 1;
}
catch (Exception error) when (!args.Contains("--verbose") && !args.Contains("-v"))
{
    Console.Error.WriteLine($"uring-gen: unexpected {error.GetType().Name}: {error.Message} (--verbose shows where)");
    return 1;
}

static int Generate(GenerateRequest request)
{
    var pins = Pins.Load();
    var (source, name) = request.Source(pins);
    var output = request.Output ?? (source is null
        ? name == pins.DefaultGeneration ? Path.Combine(pins.RepoRoot, "src/Bindings/Generated") : Path.Combine(pins.RepoRoot, "artifacts/generated", name)
        : Path.Combine(pins.RepoRoot, "artifacts/generated/local"));
    var checkedIn = Path.GetFullPath(Path.Combine(pins.RepoRoot, "src/Bindings/Generated"));
    var python = request.Python ?? (Path.GetFullPath(output) == checkedIn ? Path.Combine(pins.RepoRoot, "python/uring/_errno.py") : null);

    var (model, parseTime, modelTime) = source is null ? Generation.Build(pins, name) : Generation.Build(source);
    var clock = Stopwatch.StartNew();
    var emitter = new Emitter(model);
    var files = emitter.EmitAll();

    var modelPath = Path.Combine(output, "api-model.json");
    ApiModel? previous = File.Exists(modelPath) ? ApiModel.Load(modelPath) : null;
    var (added, changed, removed) = Generation.WriteTree(output, files);
    var pythonChange = python is null ? "" : Generation.WriteFile(python, emitter.EmitPythonErrno()) switch
    {
        true => " new",
        false => " changed",
        null => " unchanged",
    };
    var emitTime = clock.Elapsed;

    Console.WriteLine($"uring-gen: liburing {model.Generation}{(source is null ? "" : " from " + name)} -> {Path.GetRelativePath(pins.RepoRoot, output)}");
    Console.WriteLine($"  {Emitter.Describe(model)}");
    Console.WriteLine($"  files: {files.Count} written ({added} new, {changed} changed, {removed} removed)");
    if (python is not null)
        Console.WriteLine($"  python: {Path.GetRelativePath(pins.RepoRoot, python)}{pythonChange}");
    Console.WriteLine($"  time: parse {parseTime.TotalMilliseconds:F0} ms, model {modelTime.TotalMilliseconds:F0} ms, emit {emitTime.TotalMilliseconds:F0} ms");
    if (request.Verbose)
        foreach (var note in model.Notes)
            Console.WriteLine($"  note: {note}");
    else if (model.Notes.Count > 0)
        Console.WriteLine($"  notes: {model.Notes.Count} (--verbose lists them)");
    Console.WriteLine();
    Console.Write(previous is null
        ? "No previous output to compare with.\n"
        : ModelDiff.Format($"previous ({previous.Generation})", $"new ({model.Generation})", ModelDiff.Compare(previous, model)));
    return 0;
}

static ApiModel LoadOrBuild(Pins pins, string nameOrPath) =>
    nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        ? ApiModel.Load(nameOrPath)
        : Generation.Build(pins, nameOrPath).Model;

static int WriteModel(string generation, string? output)
{
    var pins = Pins.Load();
    output ??= Path.Combine(pins.RepoRoot, "artifacts/models", generation + ".json");
    var model = Generation.Build(pins, generation).Model;
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
    File.WriteAllText(output, model.ToJson());
    Console.WriteLine($"uring-gen: model of {generation} -> {output} ({Emitter.Describe(model)})");
    return 0;
}

static int Diff(string before, string after)
{
    var pins = Pins.Load();
    var old = LoadOrBuild(pins, before);
    var now = LoadOrBuild(pins, after);
    Console.Write(ModelDiff.Format(old.Generation, now.Generation, ModelDiff.Compare(old, now)));
    return 0;
}

/// <summary>What <c>generate</c> was asked for: a pin, or headers and a library from anywhere.</summary>
internal sealed record GenerateRequest(string? Generation, string? Sysroot, string? Include, string? Library, string? Output, string? Python, bool Verbose)
{
    /// <summary>The headers to read (null for a pin) and a name for messages.</summary>
    public (HeaderSource? Source, string Name) Source(Pins pins)
    {
        if (Generation is not null && (Sysroot is not null || Include is not null || Library is not null))
            throw new ArgumentException("-g names a pin; --sysroot, --include and --library name headers of your own: use one or the other");
        if (Sysroot is not null && Include is not null)
            throw new ArgumentException("--sysroot and --include both say where the headers are: give one");
        if (Sysroot is not null)
            return (HeaderSource.FromSysroot(Sysroot, Library), "--sysroot " + Sysroot);
        if (Include is not null)
            return Library is null
                ? throw new ArgumentException("--include needs --library: the liburing-ffi.so.2 (or liburing.so.2) whose exports are bound")
                : (HeaderSource.FromInclude(Include, Library), "--include " + Include);
        if (Library is not null)
            throw new ArgumentException("--library goes with --include or --sysroot");
        var generation = Generation ?? pins.DefaultGeneration;
        if (!pins.Generations.Contains(generation))
            throw new ArgumentException($"unknown generation '{generation}'; pinned: {string.Join(", ", pins.Generations)}");
        return (null, generation);
    }
}
