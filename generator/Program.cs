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

var operations = new Command("operations", "Regenerate what the operation table (src/Uring/Operations/operations.json) feeds: operation kinds and entry points, the C ABI, the Python surface, the docs table.");
operations.SetAction(_ => Uring.Generator.Operations.OperationsCommand.Run(Pins.Load().RepoRoot));
root.Subcommands.Add(operations);

try
{
    return root.Parse(args).Invoke();
}
catch (Exception error) when (error is InvalidOperationException or ArgumentException or IOException or NotSupportedException or DllNotFoundException)
{
    Console.Error.WriteLine($"uring-gen: {error.Message}");
    return 1;
}

static int Generate(string? generation, string? output)
{
    var pins = Pins.Load();
    generation ??= pins.DefaultGeneration;
    output ??= generation == pins.DefaultGeneration
        ? Path.Combine(pins.RepoRoot, "src/Bindings/Generated")
        : Path.Combine(pins.RepoRoot, "artifacts/generated", generation);

    var (model, parseTime, modelTime) = Generation.Build(pins, generation);
    var clock = Stopwatch.StartNew();
    var files = new Emitter(model).EmitAll();

    var modelPath = Path.Combine(output, "api-model.json");
    ApiModel? previous = File.Exists(modelPath) ? ApiModel.Load(modelPath) : null;
    var (added, changed, removed) = Generation.WriteTree(output, files);
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
