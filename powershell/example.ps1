#!/usr/bin/env pwsh
# Uring from PowerShell, synchronously: every operation returns a CancelableFuture; .Result
# waits for it (the ring's own loop thread drives the kernel), .Wait(timeout) waits with a limit.
# NOT RUN: there is no PowerShell on the machine this was written on (needs pwsh 7.6+, .NET 10).
#   dotnet build src/Uring -c Release
#   pwsh powershell/example.ps1
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'Uring.psd1')

$ring = New-UringRing
try {
    "kernel $([Uring.Ring]::KernelRelease); SQ $($ring.SubmissionQueueEntries), CQ $($ring.CompletionQueueEntries)"

    # NOP
    "nop -> $($ring.Nop().Result)"

    # Write a file, read it back
    $path = Join-Path ([System.IO.Path]::GetTempPath()) "uring-example-$PID.txt"
    $flags = [Uring.OpenFlags]::WriteOnly -bor [Uring.OpenFlags]::Create -bor [Uring.OpenFlags]::Truncate
    $fd = $ring.OpenAt([Uring.Ring]::CurrentDirectory, $path, $flags, 420).Result   # 420 = 0644
    $text = [System.Text.Encoding]::UTF8.GetBytes("hello from PowerShell through io_uring`n")
    $buffer = New-UringBuffer -Length $text.Length
    try {
        # Span<byte> is a ref struct PowerShell cannot use; copy through the pointer while we own the buffer.
        [System.Runtime.InteropServices.Marshal]::Copy($text, 0, $buffer.DangerousGetPointer(), $text.Length)
        $written = $ring.Write($fd, $buffer, 0).Result
        "wrote $($written.BytesTransferred) bytes"
    }
    finally {
        $buffer.Dispose()
        [void] $ring.Close($fd).Result
    }
    $bytes = Read-UringFile -Path $path
    "read back: $([System.Text.Encoding]::UTF8.GetString($bytes).Trim())"
    Remove-Item $path

    # A timeout, waited on with Wait()
    $timer = $ring.Timeout([TimeSpan]::FromMilliseconds(50))
    if ($timer.Wait([TimeSpan]::FromSeconds(5))) { "timeout elapsed: $($timer.Result)" }

    # Cancel a read that cannot complete (an empty pipe): the buffer comes back after the CQE
    $pipe = [System.IO.Pipes.AnonymousPipeServerStream]::new([System.IO.Pipes.PipeDirection]::In)
    $readFd = [int] $pipe.SafePipeHandle.DangerousGetHandle()
    $pending = New-UringBuffer -Length 64
    $read = $ring.Read($readFd, $pending)
    "cancel -> $($read.Cancel().Result)"
    try { [void] $read.Result } catch { "the read ended: $($_.Exception.InnerException.GetType().Name)" }
    $pipe.Dispose()
}
finally {
    $ring.Dispose()
}
