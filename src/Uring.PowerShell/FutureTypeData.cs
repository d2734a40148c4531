using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using Uring.Bindings;

namespace Uring.PowerShell;

/// <summary>
/// How PowerShell shows a <see cref="CancelableFuture{T}"/>. Without this, displaying a future
/// at the prompt reads every property, <c>Result</c> included: that waits for a pending
/// operation and consumes a completed one. With it, the default display is <c>Opcode</c> and
/// <c>State</c>, both read without waiting or consuming.
/// </summary>
/// <remarks>
/// Type data is keyed by the full name of a closed generic type, so every
/// <c>CancelableFuture&lt;T&gt;</c> that the façade's public API can return is registered
/// when the module is imported (found by reflection, so new operations are covered).
/// </remarks>
public static class FutureTypeData
{
    /// <summary>The <c>State</c> property PowerShell adds to a future.</summary>
    public static FutureState GetState(PSObject instance) =>
        FutureHandle.From(instance)?.State ?? FutureState.Consumed;

    /// <summary>The <c>Opcode</c> property as PowerShell shows it: null once the result was
    /// consumed (the pooled operation may then belong to another future).</summary>
    public static io_uring_op? GetOpcode(PSObject instance) => FutureHandle.From(instance)?.Opcode;

    /// <summary>Every closed <see cref="CancelableFuture{T}"/> type that appears in the public API of <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<Type> FutureTypes(Assembly assembly)
    {
        var found = new HashSet<Type>();
        var seen = new HashSet<Type>();
        void Visit(Type? type)
        {
            if (type is null || !seen.Add(type))
                return;
            if (type.HasElementType)
                Visit(type.GetElementType());
            if (!type.IsGenericType)
                return;
            if (!type.ContainsGenericParameters && FutureHandle.ResultTypeOf(type) is not null)
                found.Add(type);
            foreach (var argument in type.GetGenericArguments())
                Visit(argument);
        }

        const BindingFlags members = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetExportedTypes())
        {
            foreach (var method in type.GetMethods(members))
            {
                Visit(method.ReturnType);
                foreach (var parameter in method.GetParameters())
                    Visit(parameter.ParameterType);
            }
            foreach (var property in type.GetProperties(members))
                Visit(property.PropertyType);
            foreach (var field in type.GetFields(members))
                Visit(field.FieldType);
        }
        return found.OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();
    }

    /// <summary>The type data for <paramref name="futureTypes"/>.</summary>
    public static TypeData[] Create(IEnumerable<Type> futureTypes)
    {
        var state = typeof(FutureTypeData).GetMethod(nameof(GetState))!;
        var opcode = typeof(FutureTypeData).GetMethod(nameof(GetOpcode))!;
        return futureTypes.Select(type =>
        {
            var data = new TypeData(type) { IsOverride = true };
            data.Members.Add("State", new CodePropertyData("State", state));
            data.Members.Add("Opcode", new CodePropertyData("Opcode", opcode));
            data.DefaultDisplayPropertySet = new PropertySetData(new[] { "Opcode", "State" });
            return data;
        }).ToArray();
    }

    /// <summary>Adds the type data to the session that is importing the module.</summary>
    internal static void Register()
    {
        var data = Create(FutureTypes(typeof(Ring).Assembly));
        using var shell = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        shell.AddCommand(@"Microsoft.PowerShell.Utility\Update-TypeData")
            .AddParameter("TypeData", data)
            .AddParameter("Force");
        shell.Invoke();
        if (shell.HadErrors)
            throw new InvalidOperationException("Update-TypeData failed for the CancelableFuture types: " +
                string.Join("; ", shell.Streams.Error.Select(e => e.ToString())));
    }
}
