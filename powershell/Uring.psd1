# Module manifest for the Uring façade in PowerShell.
# NOT RUN: there is no PowerShell on the machine this was written on. Uring targets .NET 10,
# so it needs a PowerShell built on .NET 10 (7.6 or later).
@{
    RootModule        = 'Uring.psm1'
    ModuleVersion     = '0.1.0'
    GUID              = '6f0c3a52-8a1e-4d36-9a57-3c1e2b0d9e41'
    Author            = 'Uring contributors'
    Description       = 'Linux io_uring through the Uring C# façade (Uring.Core.dll), used synchronously (Wait()/Result).'
    PowerShellVersion = '7.6'
    CompatiblePSEditions = @('Core')
    FunctionsToExport = @('New-UringRing', 'New-UringBuffer', 'Read-UringFile', 'Get-UringAssemblyDirectory')
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
    PrivateData       = @{ PSData = @{ Tags = @('io_uring', 'Linux') } }
}
