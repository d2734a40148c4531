# Loads Uring.Core.dll (the façade) and its bindings into the session, and offers a few
# synchronous helpers. NOT RUN: no PowerShell on the machine this was written on.
#
# Assemblies: $env:URING_ASSEMBLY_DIR, else the checkout's src/Uring/bin/Release/net10.0
# (build it with `dotnet build src/Uring -c Release`), else .../Debug/net10.0.

function Get-UringAssemblyDirectory {
    $candidates = @()
    if ($env:URING_ASSEMBLY_DIR) { $candidates += $env:URING_ASSEMBLY_DIR }
    $root = Split-Path -Parent $PSScriptRoot
    $candidates += (Join-Path $root 'src/Uring/bin/Release/net10.0'), (Join-Path $root 'src/Uring/bin/Debug/net10.0')
    foreach ($dir in $candidates) {
        if (Test-Path (Join-Path $dir 'Uring.Core.dll')) { return (Resolve-Path $dir).Path }
    }
    throw "Uring.Core.dll not found (tried: $($candidates -join ', ')). Run 'dotnet build src/Uring -c Release' or set URING_ASSEMBLY_DIR."
}

$script:AssemblyDir = Get-UringAssemblyDirectory
# liburing-ffi.so.2 is copied next to the assemblies by the build; the bindings look there
# through this variable when the host process (pwsh) lives elsewhere.
$ffi = Join-Path $script:AssemblyDir 'liburing-ffi.so.2'
if ((Test-Path $ffi) -and -not $env:URING_LIBURING_PATH) { $env:URING_LIBURING_PATH = $ffi }
Add-Type -Path (Join-Path $script:AssemblyDir 'Uring.Bindings.dll')
Add-Type -Path (Join-Path $script:AssemblyDir 'Uring.Core.dll')

function New-UringRing {
    <# .SYNOPSIS A ring with its own loop thread: every future can be waited on from the pipeline thread. #>
    param([uint32] $Entries = 256)
    $options = [Uring.RingOptions]::new()
    $options.Entries = $Entries
    [Uring.Ring]::new($options)
}

function New-UringBuffer {
    <# .SYNOPSIS Native memory whose ownership passes to the kernel during an operation (OwnershipMemory). #>
    param([Parameter(Mandatory)] [int] $Length, [int] $Alignment = 4096)
    [Uring.OwnershipMemory]::Allocate($Length, $Alignment)
}

function Read-UringFile {
    <# .SYNOPSIS Reads a whole file through io_uring (openat, reads, close), synchronously; returns byte[]. #>
    param([Parameter(Mandatory)] [string] $Path, [int] $BlockSize = 65536)
    $ring = New-UringRing
    $buffer = New-UringBuffer -Length $BlockSize
    try {
        $full = (Resolve-Path $Path).Path
        $fd = $ring.OpenAt([Uring.Ring]::CurrentDirectory, $full, [Uring.OpenFlags]::ReadOnly).Result
        $out = [System.IO.MemoryStream]::new()
        try {
            $offset = 0
            while ($true) {
                $result = $ring.Read($fd, $buffer, $offset).Result   # BufferResult: bytes + the buffer, ours again
                if ($result.BytesTransferred -eq 0) { break }
                # Span<byte> is a ref struct PowerShell cannot hold; Memory<byte> is not.
                $out.Write($buffer.Memory.Slice(0, $result.BytesTransferred).ToArray(), 0, $result.BytesTransferred)
                $offset += $result.BytesTransferred
            }
        }
        finally {
            [void] $ring.Close($fd).Result
        }
        , $out.ToArray()
    }
    finally {
        $buffer.Dispose()
        $ring.Dispose()
    }
}

Export-ModuleMember -Function New-UringRing, New-UringBuffer, Read-UringFile, Get-UringAssemblyDirectory
