using System.CommandLine;
using System.Diagnostics;
using Uring.Generator;
using Uring.Generator.Model;

var root = new RootCommand("uring-gen: liburing headers -> API model -> C# bindings, and API diffs between generations.");

var generationOption = new Option<string?>("--generation", "-g") { Description = "Pinned generation (liburing-headers/pins.txt); default: the pin file's default." };
var outputOption = new Option<string?>("--output", "-o") { Description = "Output folder; default: src/Bindings/Generated for the default generation, artifacts/generated/GEN otherwise." };
var generate = new Command("generate", "Regenerate the C# bindings and print what changed against the previous output.") { generationOption, outputOption };
generate.SetAction(result => Generate(result.GetValue(generationOption), result.GetValue(outputOption)));
root.Subcommands.Add(generate);

var modelGeneration = new Argument<string>("generation") { Description = "Pinned generation" };
var modelOutput = new Option<string?>("--output", "-o") { Description = "JSON file; default: artifacts/models/GEN.json" };
var modelCommand = new Command("model", "Write the API model of a generation as JSON.") { modelGeneration, modelOutput };
modelCommand.SetAction(result => WriteModel(result.GetValue(modelGeneration)!, result.GetValue(modelOutput)));
root.Subcommands.Add(modelCommand);

var diffBefore = new Argument<string>("before") { Description = "Generation name or model .json" };
var diffAfter = new Argument<string>("after") { Description = "Generation name or model .json" };
var diff = new Command("diff", "Compare two generations' APIs: opcodes, constants, structs, fields, functions.") { diffBefore, diffAfter };
diff.SetAction(result => Diff(result.GetValue(diffBefore)!, result.GetValue(diffAfter)!));
root.Subcommands.Add(diff);

try
{
    return root.Parse(args).Invoke();
}
catch (Exception error) when (error is InvalidOperationException or ArgumentException or IOException or NotSupportedException or DllNotFoundException)
{
    Console.Error.WriteLine($"uring-gen: {error.Message}");
    return 1;
}

static (ApiModel Model, TimeSpan Parse, TimeSpan Total) BuildModel(Pins pins, string generation)
{
    var sysroot = pins.Fetch(generation);
    var clock = Stopwatch.StartNew();
    var (library, isFfi) = Exports.FindLibrary(sysroot);
    var parser = new HeaderParser(sysroot, generation, Pins.Packages(sysroot), Exports.Read(library));
    var model = parser.Parse();
    // Name the model after the liburing release, not the pin: two pins that differ only in
    // their uapi headers must give identical output.
    var liburingDev = model.Packages.FirstOrDefault(p => p.StartsWith("liburing-dev=", StringComparison.Ordinal));
    if (liburingDev is not null)
        model = model with { Generation = liburingDev["liburing-dev=".Length..].Split('-')[0] };
    if (!isFfi)
        model = model with { Notes = [.. model.Notes, $"{generation} has no liburing-ffi.so.2: only functions exported by liburing.so.2 are emitted; inline helpers are listed as not exported"] };
    return (model, parser.ParseTime, clock.Elapsed);
}

static int Generate(string? generation, string? output)
{
    var pins = Pins.Load();
    generation ??= pins.DefaultGeneration;
    output ??= generation == pins.DefaultGeneration
        ? Path.Combine(pins.RepoRoot, "src/Bindings/Generated")
        : Path.Combine(pins.RepoRoot, "artifacts/generated", generation);

    var (model, parseTime, modelTime) = BuildModel(pins, generation);
    var clock = Stopwatch.StartNew();
    var files = new Emitter(model).EmitAll();

    var modelPath = Path.Combine(output, "api-model.json");
    ApiModel? previous = File.Exists(modelPath) ? ApiModel.Load(modelPath) : null;
    var (added, changed, removed) = WriteTree(output, files);
    var emitTime = clock.Elapsed;

    Console.WriteLine($"uring-gen: liburing {generation} -> {Path.GetRelativePath(pins.RepoRoot, output)}");
    Console.WriteLine($"  {Emitter.Describe(model)}");
    Console.WriteLine($"  files: {files.Count} written ({added} new, {changed} changed, {removed} removed)");
    Console.WriteLine($"  time: parse {parseTime.TotalMilliseconds:F0} ms, model {modelTime.TotalMilliseconds:F0} ms, emit {emitTime.TotalMilliseconds:F0} ms");
    foreach (var note in model.Notes)
        Console.WriteLine($"  note: {note}");
    Console.WriteLine();
    Console.Write(previous is null
        ? "No previous output to compare with.\n"
        : ModelDiff.Format($"previous ({previous.Generation})", $"new ({model.Generation})", ModelDiff.Compare(previous, model)));
    return 0;
}

static (int Added, int Changed, int Removed) WriteTree(string output, SortedDictionary<string, string> files)
{
    Directory.CreateDirectory(output);
    int added = 0, changed = 0, removed = 0;
    var stale = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(output, f).Replace('\\', '/'))
        .Where(f => f.EndsWith(".g.cs", StringComparison.Ordinal) || f == "api-model.json")
        .ToHashSet(StringComparer.Ordinal);
    foreach (var (relative, content) in files)
    {
        var path = Path.Combine(output, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var exists = File.Exists(path);
        if (exists && File.ReadAllText(path) == content)
        {
            stale.Remove(relative);
            continue;
        }
        File.WriteAllText(path, content);
        if (exists) changed++; else added++;
        stale.Remove(relative);
    }
    foreach (var relative in stale)
    {
        File.Delete(Path.Combine(output, relative));
        removed++;
    }
    return (added, changed, removed);
}

static ApiModel LoadOrBuild(Pins pins, string nameOrPath) =>
    nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        ? ApiModel.Load(nameOrPath)
        : BuildModel(pins, nameOrPath).Model;

static int WriteModel(string generation, string? output)
{
    var pins = Pins.Load();
    output ??= Path.Combine(pins.RepoRoot, "artifacts/models", generation + ".json");
    var model = BuildModel(pins, generation).Model;
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
