using Uring.Generator.Model;

namespace Uring.Generator.Operations;

/// <summary><c>uring-gen operations</c>: every surface derived from the operation table, written where it belongs.</summary>
internal static class OperationsCommand
{
    /// <summary>Repository-relative path → content, for every table-driven file.</summary>
    public static SortedDictionary<string, string> EmitAll(string repoRoot)
    {
        var table = OperationTable.Load(repoRoot);
        CheckAgainstBindings(table, ApiModel.Load(Path.Combine(repoRoot, "src/Bindings/Generated/api-model.json")));
        var files = new FacadeEmitter(table).EmitAll();
        files[ScriptingEmitter.ExportsFile] = new ScriptingEmitter(table).Emit();
        files[PythonEmitter.OutputFile] = new PythonEmitter(table).Emit();
        var docs = Path.Combine(repoRoot, DocsEmitter.DocumentFile);
        files[DocsEmitter.DocumentFile] = new DocsEmitter(table).Apply(File.ReadAllText(docs));
        return files;
    }

    /// <summary>The folders whose *.g.cs files all come from the table (stale ones are deleted).</summary>
    public static readonly string[] OwnedFolders = [FacadeEmitter.KindsFolder];

    /// <summary>Every liburing function a prep statement names exists in the generated bindings.</summary>
    public static void CheckAgainstBindings(OperationTable table, ApiModel model)
    {
        var functions = model.Functions.Where(f => f.Exported).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var op in table.Operations)
            foreach (var function in op.Prep.SelectMany(OperationTable.PrepFunctionsIn).Concat(op.PrepFunctions))
                if (!functions.Contains(function))
                    throw new InvalidOperationException($"operations.json: {op.Name} calls {function}, which liburing {model.Generation} does not export.");
    }

    public static int Run(string repoRoot)
    {
        var files = EmitAll(repoRoot);
        int added = 0, changed = 0, removed = 0;
        foreach (var (relative, content) in files)
        {
            var path = Path.Combine(repoRoot, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var exists = File.Exists(path);
            if (exists && File.ReadAllText(path) == content)
                continue;
            File.WriteAllText(path, content);
            if (exists) changed++; else added++;
        }
        foreach (var folder in OwnedFolders)
        {
            var directory = Path.Combine(repoRoot, folder);
            if (!Directory.Exists(directory))
                continue;
            foreach (var file in Directory.EnumerateFiles(directory, "*.g.cs"))
            {
                var relative = Path.GetRelativePath(repoRoot, file).Replace('\\', '/');
                if (!files.ContainsKey(relative))
                {
                    File.Delete(file);
                    removed++;
                }
            }
        }
        Console.WriteLine($"uring-gen: {OperationTable.RelativePath} -> {files.Count} files ({added} new, {changed} changed, {removed} removed)");
        return 0;
    }
}
