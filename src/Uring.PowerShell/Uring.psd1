# Module manifest of Uring: Linux io_uring from PowerShell, through the Uring C# façade
# (Uring.Core.dll). The build output of src/Uring.PowerShell is the module folder.
# Uring targets .NET 10, so it needs a PowerShell built on .NET 10 (7.6 or later).
@{
    RootModule           = 'Uring.PowerShell.dll'
    ModuleVersion        = '0.2.0'
    GUID                 = '6f0c3a52-8a1e-4d36-9a57-3c1e2b0d9e41'
    Author               = 'Uring contributors'
    Description          = 'Linux io_uring through the Uring C# façade: rings, buffers lent to the kernel, futures to wait for or cancel, and file commands.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    TypesToProcess       = @('Uring.types.ps1xml')
    FormatsToProcess     = @('Uring.format.ps1xml')
    CmdletsToExport      = @(
        'New-UringRing', 'New-UringBuffer', 'Read-UringFile', 'Copy-UringFile',
        'Get-UringProbe', 'Wait-UringFuture', 'Stop-UringFuture'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{ PSData = @{ Tags = @('io_uring', 'Linux') } }
}
