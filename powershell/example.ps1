#!/usr/bin/env pwsh
# Uring from PowerShell: the module's commands, and the façade's operations on a ring, each
# returning a future that Wait-UringFuture waits for and Stop-UringFuture cancels.
#   dotnet build src/Uring.PowerShell -c Release
#   dotnet pwsh powershell/example.ps1
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if (Get-Module -ListAvailable -Name Uring) { Import-Module Uring }
else { Import-Module (Join-Path $PSScriptRoot '../src/Uring.PowerShell/bin/Release/Uring/Uring.psd1') }

$probe = Get-UringProbe
"kernel $([Uring.Ring]::KernelRelease): $(@($probe | Where-Object Supported).Count) of $($probe.Count) io_uring opcodes supported"

$work = Join-Path ([IO.Path]::GetTempPath()) "uring-example-$PID"
$null = New-Item -ItemType Directory -Path $work
$ring = New-UringRing -Entries 64
try {
    "nop -> $($ring.Nop() | Wait-UringFuture)"

    # Write a file with openat, write and close; the buffer is the kernel's during the write.
    $path = Join-Path $work 'hello.txt'
    $buffer = New-UringBuffer -Bytes ([Text.Encoding]::UTF8.GetBytes("hello from PowerShell through io_uring`n"))
    try {
        $flags = [Uring.OpenFlags]::WriteOnly -bor [Uring.OpenFlags]::Create -bor [Uring.OpenFlags]::Truncate
        $fd = $ring.OpenAt([Uring.Ring]::CurrentDirectory, $path, $flags, 420) | Wait-UringFuture # 420 = 0644
        $written = $ring.Write($fd, $buffer, 0) | Wait-UringFuture
        "wrote $($written.BytesTransferred) bytes"
        $null = $ring.Close($fd) | Wait-UringFuture
    }
    finally {
        $buffer.Dispose()
    }

    # Read it back, and copy it.
    "read back: $([Text.Encoding]::UTF8.GetString((Read-UringFile -Path $path -Ring $ring)).Trim())"
    Copy-UringFile -Path $path -Destination (Join-Path $work 'copy.txt') -Ring $ring
    "copy is identical: $((Get-FileHash $path).Hash -eq (Get-FileHash (Join-Path $work 'copy.txt')).Hash)"

    # Several operations in flight at once.
    $timers = 1..3 | ForEach-Object { $ring.Timeout([TimeSpan]::FromMilliseconds(20 * $_)) }
    "timeouts elapsed: $(($timers | Wait-UringFuture) -join ', ')"

    # A read that cannot complete (an empty pipe): shown, cancelled, then waited for.
    $pipe = [IO.Pipes.AnonymousPipeServerStream]::new([IO.Pipes.PipeDirection]::In)
    $pending = New-UringBuffer -Length 64
    try {
        $read = $ring.Read([int]$pipe.SafePipeHandle.DangerousGetHandle(), $pending)
        "pending read: $($read.Opcode) $($read.State)"
        "cancel -> $($read | Stop-UringFuture)"
        try {
            $read | Wait-UringFuture
            'the read completed'
        }
        catch {
            "the read ended: $($_.CategoryInfo.Category) ($($_.Exception.GetType().Name))"
        }
    }
    finally {
        $pending.Dispose() # already released by the ring after the cancelled read's completion: a no-op
        $pipe.Dispose()
    }

    # The kernel's errno as an error record.
    try {
        $null = Read-UringFile -Path (Join-Path $work 'missing.txt') -Ring $ring
    }
    catch [Uring.UringIOException] {
        "no such file: $($_.Exception.ErrnoName) from $($_.Exception.Opcode) ($($_.CategoryInfo.Category))"
    }
}
finally {
    $ring.Dispose()
    Remove-Item -Recurse -Force -LiteralPath $work
}
