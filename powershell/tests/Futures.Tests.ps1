# Wait-UringFuture, Stop-UringFuture, and how a future looks at the prompt.
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    Import-UringTestModule
    $script:ring = New-UringRing -Entries 64
    $script:waitId = 'Uring.PowerShell.WaitUringFutureCommand'
}
AfterAll {
    $script:ring.Dispose()
}

Describe 'Wait-UringFuture' {
    BeforeEach {
        $script:pipe = New-PendingPipe
    }
    AfterEach {
        $script:pipe.Dispose()
    }

    It 'returns the result of a completed operation' {
        $ring.Nop() | Wait-UringFuture | Should -Be 0
    }

    It 'waits for piped futures in order and writes each result' {
        $results = $ring.Timeout([TimeSpan]::FromMilliseconds(50)), $ring.Nop() | Wait-UringFuture
        $results | Should -Be @($true, 0)
    }

    It 'returns a read''s bytes transferred and the buffer, owned by the caller again' {
        $path = Join-Path $TestDrive 'hello.txt'
        Set-Content -LiteralPath $path -Value 'hello' -NoNewline
        $fd = $ring.OpenAt([Uring.Ring]::CurrentDirectory, $path, [Uring.OpenFlags]::ReadOnly) | Wait-UringFuture
        $buffer = New-UringBuffer -Length 64
        try {
            $read = $ring.Read($fd, $buffer, 0) | Wait-UringFuture
            $read.BytesTransferred | Should -Be 5
            $read.Buffer.State | Should -Be 'User'
            [Text.Encoding]::ASCII.GetString($buffer.Memory.Slice(0, 5).ToArray()) | Should -Be 'hello'
        }
        finally {
            $null = $ring.Close($fd) | Wait-UringFuture
            $buffer.Dispose()
        }
    }

    It 'reports a missing file as an ObjectNotFound error carrying ENOENT' {
        $future = $ring.OpenAt([Uring.Ring]::CurrentDirectory, '/nonexistent/file', [Uring.OpenFlags]::ReadOnly)
        $out = $future | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].FullyQualifiedErrorId | Should -Be "ENOENT,$waitId"
        $failures[0].Exception | Should -BeOfType ([Uring.UringIOException])
        $failures[0].Exception.Errno | Should -Be 2
        $failures[0].Exception.Opcode | Should -Be 'IORING_OP_OPENAT'
    }

    It 'with -ErrorAction Stop, throws an error that catch sees with its errno' {
        $future = $ring.OpenAt([Uring.Ring]::CurrentDirectory, '/nonexistent/file', [Uring.OpenFlags]::ReadOnly)
        $caught = $null; $reached = $false
        try { $future | Wait-UringFuture -ErrorAction Stop; $reached = $true } catch { $caught = $_ }
        $reached | Should -BeFalse
        $caught.FullyQualifiedErrorId | Should -Be "ENOENT,$waitId"
        $caught.Exception.ErrnoName | Should -Be 'ENOENT'
    }

    It 'with -ErrorAction SilentlyContinue, shows nothing and goes on, but keeps the error in $Error' {
        $Error.Clear()
        $future = $ring.OpenAt([Uring.Ring]::CurrentDirectory, '/nonexistent/file', [Uring.OpenFlags]::ReadOnly)
        $out = $future, $ring.Nop() | Wait-UringFuture -ErrorAction SilentlyContinue
        $out | Should -Be 0
        $Error.Count | Should -Be 1
        $Error[0].Exception.Errno | Should -Be 2
    }

    It 'with $ErrorActionPreference = Stop, the error is terminating too' {
        $future = $ring.OpenAt([Uring.Ring]::CurrentDirectory, '/nonexistent/file', [Uring.OpenFlags]::ReadOnly)
        {
            $ErrorActionPreference = 'Stop'
            $future | Wait-UringFuture
        } | Should -Throw -ErrorId "ENOENT,$waitId"
    }

    It 'reports a cancelled read as OperationStopped' {
        $buffer = New-UringBuffer -Length 64
        $read = $ring.Read($pipe.ReadFd, $buffer)
        $read | Stop-UringFuture | Should -Be 'Cancelled'
        $read | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'OperationStopped'
        $failures[0].FullyQualifiedErrorId | Should -Be "OperationCanceled,$waitId"
        $buffer.Dispose() # released by the façade after the CQE: a no-op, not an error
    }

    It 'reports a wait that times out as OperationTimeout and leaves the operation pending' {
        $buffer = New-UringBuffer -Length 64
        # the linked timeout ends the read after 20 s should the wait ignore -Timeout
        $read = $ring.Read($pipe.ReadFd, $buffer, -1, [TimeSpan]::FromSeconds(20))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $read | Wait-UringFuture -Timeout 0.2 -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.19
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 15
        $failures[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $failures[0].FullyQualifiedErrorId | Should -Be "WaitTimeout,$waitId"
        $read.State | Should -Be 'Pending'
        $buffer.State | Should -Be 'Kernel'
        $read | Stop-UringFuture | Should -Be 'Cancelled'
        $read | Wait-UringFuture -ErrorAction SilentlyContinue
        $buffer.Dispose()
    }

    It 'takes -Timeout as a TimeSpan as well as seconds' {
        $buffer = New-UringBuffer -Length 64
        $read = $ring.Read($pipe.ReadFd, $buffer, -1, [TimeSpan]::FromSeconds(20))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $read | Wait-UringFuture -Timeout ([TimeSpan]::FromMilliseconds(300)) -ErrorVariable failures -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.29
        $failures[0].FullyQualifiedErrorId | Should -Be "WaitTimeout,$waitId"
        $null = $read | Stop-UringFuture
        $read | Wait-UringFuture -ErrorAction SilentlyContinue
        $buffer.Dispose()
    }

    It 'rejects a negative timeout before waiting' {
        { $ring.Nop() | Wait-UringFuture -Timeout -1 } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,Uring.PowerShell.WaitUringFutureCommand'
    }

    It 'reports a read whose linked timeout fired as OperationTimeout' {
        $buffer = New-UringBuffer -Length 64
        $read = $ring.Read($pipe.ReadFd, $buffer, -1, [TimeSpan]::FromMilliseconds(50))
        $read | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $failures[0].Exception | Should -BeOfType ([TimeoutException])
        $buffer.Dispose()
    }

    It 'reports an operation ended by the ring''s disposal as OperationStopped' {
        $other = New-UringRing -Entries 8
        $buffer = New-UringBuffer -Length 64
        $read = $other.Read($pipe.ReadFd, $buffer)
        $other.Dispose()
        $read | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'OperationStopped'
        $failures[0].Exception | Should -BeOfType ([Uring.RingDisposedException])
        $buffer.Dispose()
    }

    It 'reports a future whose result was already read as InvalidOperation' {
        $future = $ring.Nop()
        $future | Wait-UringFuture | Should -Be 0
        $future | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'rejects what is not a future as InvalidArgument' {
        42, 'text' | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures.Count | Should -Be 2
        $failures[0].FullyQualifiedErrorId | Should -Be "NotAFuture,$waitId"
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'stops on Ctrl+C and leaves the operation pending (the future is the caller''s)' {
        $buffer = New-UringBuffer -Length 64
        $read = $ring.Read($pipe.ReadFd, $buffer)
        $shell = New-UringRunspaceShell
        try {
            $null = $shell.AddCommand('Wait-UringFuture').AddParameter('Future', $read)
            $null = $shell.BeginInvoke()
            Wait-Until { $shell.InvocationStateInfo.State -eq 'Running' }
            Start-Sleep -Milliseconds 300
            Stop-ShellWithin $shell | Should -BeTrue -Because 'Ctrl+C must end a wait'
            $shell.InvocationStateInfo.State | Should -Be 'Stopped'
            $read.State | Should -Be 'Pending'
        }
        finally {
            $null = $read | Stop-UringFuture # ends the wait, if it is still waiting
            $shell.Dispose()
        }
        $read | Wait-UringFuture -ErrorAction SilentlyContinue
        $buffer.Dispose()
    }
}

Describe 'Stop-UringFuture' {
    BeforeEach {
        $script:pipe = New-PendingPipe
    }
    AfterEach {
        $script:pipe.Dispose()
    }

    It 'cancels a pending read in the kernel; the buffer is freed after the CQE' {
        $before = [Uring.NativeMemoryStatistics]::LiveBytes
        $buffer = New-UringBuffer -Length 65536
        $read = $ring.Read($pipe.ReadFd, $buffer)
        $outcome = $read | Stop-UringFuture
        $outcome | Should -BeOfType ([Uring.CancelOutcome])
        $outcome | Should -Be 'Cancelled'
        $read | Wait-UringFuture -ErrorAction SilentlyContinue
        $buffer.State | Should -Be 'Released'
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -Be $before
    }

    It 'returns AlreadyCompleted for an operation that completed, whose result stays readable' {
        $future = $ring.Nop()
        Wait-Until { $future.State -eq 'Succeeded' }
        $future | Stop-UringFuture | Should -Be 'AlreadyCompleted'
        $future | Wait-UringFuture | Should -Be 0
    }

    It 'cancels every piped future and writes one outcome each' {
        $buffers = 1..3 | ForEach-Object { New-UringBuffer -Length 16 }
        $reads = $buffers | ForEach-Object { $ring.Read($pipe.ReadFd, $_) }
        $outcomes = $reads | Stop-UringFuture
        $outcomes | Should -Be @('Cancelled', 'Cancelled', 'Cancelled')
        $reads | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures.Count | Should -Be 3
        $buffers | ForEach-Object { $_.Dispose() }
    }

    It 'with -WhatIf, cancels nothing' {
        $buffer = New-UringBuffer -Length 16
        $read = $ring.Read($pipe.ReadFd, $buffer)
        $read | Stop-UringFuture -WhatIf | Should -BeNullOrEmpty
        Start-Sleep -Milliseconds 100
        $read.State | Should -Be 'Pending'
        $null = $read | Stop-UringFuture
        $read | Wait-UringFuture -ErrorAction SilentlyContinue
        $buffer.Dispose()
    }

    It 'reports a future whose result was already read as InvalidOperation' {
        $future = $ring.Nop()
        $null = $future | Wait-UringFuture
        $future | Stop-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'rejects what is not a future as InvalidArgument' {
        Stop-UringFuture -Future 7 -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -Be 'NotAFuture,Uring.PowerShell.StopUringFutureCommand'
    }
}

Describe 'A future shown at the prompt' {
    It 'shows Opcode and State of a completed future, and does not consume it' {
        $future = $ring.Nop()
        Wait-Until { $future.State -eq 'Succeeded' }
        $shown = $future | Out-String
        $shown | Should -Match 'IORING_OP_NOP'
        $shown | Should -Match 'Succeeded'
        $future | Format-List | Out-String | Should -Match 'State\s*:\s*Succeeded'
        $future | Wait-UringFuture | Should -Be 0
    }

    It 'shows a pending future without waiting for it' {
        # The read can only end by being cancelled: a display that waited for it would not return.
        $pipe = New-PendingPipe
        $buffer = New-UringBuffer -Length 16
        try {
            $read = $ring.Read($pipe.ReadFd, $buffer)
            $shown = Get-DisplayText $read
            $shown | Should -Not -BeNullOrEmpty -Because 'showing a future must not wait for it'
            $shown | Should -Match 'IORING_OP_READ'
            $shown | Should -Match 'Pending'
            $read.State | Should -Be 'Pending'
        }
        finally {
            $null = $read | Stop-UringFuture
            $read | Wait-UringFuture -ErrorAction SilentlyContinue
            $pipe.Dispose()
            $buffer.Dispose()
        }
    }

    It 'shows a failed future as Faulted and keeps its error for Wait-UringFuture' {
        $future = $ring.OpenAt([Uring.Ring]::CurrentDirectory, '/nonexistent/file', [Uring.OpenFlags]::ReadOnly)
        Wait-Until { $future.State -ne 'Pending' }
        $future | Out-String | Should -Match 'Faulted'
        $future | Wait-UringFuture -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].Exception.Errno | Should -Be 2
    }

    It 'shows a consumed future as Consumed, without an opcode' {
        $future = $ring.Nop()
        $null = $future | Wait-UringFuture
        $future.State | Should -Be 'Consumed'
        $future.Opcode | Should -BeNullOrEmpty
        $future | Out-String | Should -Match 'Consumed'
    }

    It 'shows the future of <Name> without consuming it' -ForEach @(
        @{ Name = 'OpenAt'; Start = { param($r, $p) $r.OpenAt([Uring.Ring]::CurrentDirectory, '/', [Uring.OpenFlags]::ReadOnly) } }
        @{ Name = 'Statx'; Start = { param($r, $p) $r.Statx([Uring.Ring]::CurrentDirectory, '/') } }
        @{ Name = 'Read'; Start = { param($r, $p) $r.Read($p.ReadFd, (New-UringBuffer -Length 8)) } }
        @{ Name = 'ReadV'; Start = { param($r, $p) $r.ReadV($p.ReadFd, [Uring.OwnershipMemory[]]@((New-UringBuffer -Length 8), (New-UringBuffer -Length 8))) } }
        @{ Name = 'Cancel'; Start = { param($r, $p) $r.Timeout([TimeSpan]::FromSeconds(30)).Cancel() } }
    ) {
        $pipe = New-PendingPipe
        try {
            $future = & $Start $ring $pipe
            $shown = Get-DisplayText $future
            $shown | Should -Match 'IORING_OP_'
            $future.State | Should -Not -Be 'Consumed'
            if ($future.State -eq 'Pending') { $null = $future | Stop-UringFuture }
            $future | Wait-UringFuture -ErrorAction SilentlyContinue
            $future.State | Should -Be 'Consumed'
        }
        finally {
            $pipe.Dispose()
        }
    }

    It 'has display data for every future type of the façade''s public API' {
        $types = [Uring.PowerShell.FutureTypeData]::FutureTypes([Uring.Ring].Assembly)
        $names = $types | ForEach-Object { $_.GetGenericArguments()[0].Name }
        foreach ($expected in 'Int32', 'Boolean', 'BufferResult`1', 'StatxResult', 'CancelOutcome', 'PollEvents') {
            $names | Should -Contain $expected
        }
        foreach ($type in $types) {
            $data = Get-TypeData -TypeName ([WildcardPattern]::Escape($type.FullName))
            $data | Should -Not -BeNullOrEmpty -Because $type.FullName
            $data.DefaultDisplayPropertySet.ReferencedProperties | Should -Be @('Opcode', 'State')
        }
    }

    It 'shows a buffer the kernel owns without touching its memory' {
        $pipe = New-PendingPipe
        $buffer = New-UringBuffer -Length 32
        try {
            $read = $ring.Read($pipe.ReadFd, $buffer)
            $shown = $buffer | Out-String
            $shown | Should -Match 'Kernel'
            $shown | Should -Match '32'
            $null = $read | Stop-UringFuture
            $read | Wait-UringFuture -ErrorAction SilentlyContinue
        }
        finally {
            $pipe.Dispose()
            $buffer.Dispose()
        }
    }
}
