using System.Management.Automation;

namespace Uring.PowerShell;

/// <summary>Runs when <c>Import-Module Uring</c> loads the assembly.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    /// <summary>Registers how futures are displayed (see <see cref="FutureTypeData"/>).</summary>
    public void OnImport() => FutureTypeData.Register();
}
