# New-UringRing, New-UringBuffer and Get-UringProbe.
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    Import-UringTestModule
}

Describe 'New-UringRing' {
    It 'creates a ring of the requested size (the kernel rounds up to a power of two)' {
        $ring = New-UringRing -Entries 5
        try {
            $ring | Should -BeOfType ([Uring.Ring])
            $ring.SubmissionQueueEntries | Should -Be 8
            $ring.Nop() | Wait-UringFuture | Should -Be 0
        }
        finally {
            $ring.Dispose()
        }
    }

    It 'gives its fds back when disposed' {
        $before = @(Get-WatchedFd | Where-Object { $_ -match 'io_uring|eventfd' })
        $ring = New-UringRing
        @(Get-WatchedFd | Where-Object { $_ -match 'io_uring|eventfd' }).Count | Should -BeGreaterThan $before.Count
        $ring.Dispose()
        $ring.IsDisposed | Should -BeTrue
        @(Get-WatchedFd | Where-Object { $_ -match 'io_uring|eventfd' }) | Should -Be $before
    }

    It 'creates an SQPOLL ring with -SqPoll' {
        $ring = New-UringRing -Entries 8 -SqPoll
        try {
            $ring.SetupFlags -band 2 | Should -Be 2 # IORING_SETUP_SQPOLL
            $ring.Nop() | Wait-UringFuture | Should -Be 0
        }
        finally {
            $ring.Dispose()
        }
    }

    It 'refuses 0 entries before creating anything' {
        { New-UringRing -Entries 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Uring.PowerShell.NewUringRingCommand'
    }

    It 'shows a ring by its sizes and state, not every property' {
        $ring = New-UringRing -Entries 8
        try {
            $shown = $ring | Out-String
            $shown | Should -Match 'SubmissionQueueEntries'
            $shown | Should -Not -Match 'KernelEnterCalls'
        }
        finally {
            $ring.Dispose()
        }
    }
}

Describe 'New-UringBuffer' {
    It 'allocates zeroed memory of the given length and alignment, owned by the caller' {
        $buffer = New-UringBuffer -Length 100 -Alignment 512
        try {
            $buffer | Should -BeOfType ([Uring.OwnershipMemory])
            $buffer.Length | Should -Be 100
            $buffer.Alignment | Should -Be 512
            $buffer.State | Should -Be 'User'
            $buffer.DangerousGetPointer().ToInt64() % 512 | Should -Be 0
            $buffer.Memory.ToArray() | Where-Object { $_ -ne 0 } | Should -BeNullOrEmpty
        }
        finally {
            $buffer.Dispose()
        }
    }

    It 'fills the buffer from -Bytes, and a write sends exactly those bytes' {
        $bytes = [Text.Encoding]::UTF8.GetBytes('written through io_uring')
        $buffer = New-UringBuffer -Bytes $bytes
        $ring = New-UringRing -Entries 8
        $path = Join-Path $TestDrive 'written.txt'
        try {
            $buffer.Length | Should -Be $bytes.Length
            $flags = [Uring.OpenFlags]::WriteOnly -bor [Uring.OpenFlags]::Create
            $fd = $ring.OpenAt([Uring.Ring]::CurrentDirectory, $path, $flags) | Wait-UringFuture
            ($ring.Write($fd, $buffer, 0) | Wait-UringFuture).BytesTransferred | Should -Be $bytes.Length
            $null = $ring.Close($fd) | Wait-UringFuture
            Get-Content -LiteralPath $path -Raw | Should -Be 'written through io_uring'
        }
        finally {
            $buffer.Dispose()
            $ring.Dispose()
        }
    }

    It 'reports an alignment that is not a power of two as InvalidArgument, and allocates nothing' {
        $memory = [Uring.NativeMemoryStatistics]::LiveBytes
        New-UringBuffer -Length 10 -Alignment 3 -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failures[0].FullyQualifiedErrorId | Should -Be 'InvalidArgument,Uring.PowerShell.NewUringBufferCommand'
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -Be $memory
    }

    It 'refuses a length of 0' {
        { New-UringBuffer -Length 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Uring.PowerShell.NewUringBufferCommand'
    }

    It 'frees its native memory when disposed' {
        $memory = [Uring.NativeMemoryStatistics]::LiveBytes
        $buffer = New-UringBuffer -Length 65536
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -BeGreaterThan $memory
        $buffer.Dispose()
        $buffer.State | Should -Be 'Released'
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -Be $memory
    }

    It 'cannot be disposed while the kernel owns it' {
        $ring = New-UringRing -Entries 8
        $pipe = New-PendingPipe
        $buffer = New-UringBuffer -Length 16
        try {
            $read = $ring.Read($pipe.ReadFd, $buffer)
            { $buffer.Dispose() } | Should -Throw -ExceptionType ([Management.Automation.MethodInvocationException])
            $buffer.State | Should -Be 'Kernel'
            $null = $read | Stop-UringFuture
            $read | Wait-UringFuture -ErrorAction SilentlyContinue
            $buffer.State | Should -Be 'Released'
        }
        finally {
            $pipe.Dispose()
            $ring.Dispose()
        }
    }
}

Describe 'Get-UringProbe' {
    BeforeAll {
        $script:opcodes = [Enum]::GetValues([Uring.Bindings.io_uring_op]) | Where-Object { $_ -ne 'IORING_OP_LAST' }
    }

    It 'lists every opcode liburing knows, once, by name and number' {
        $probe = @(Get-UringProbe)
        $probe.Count | Should -Be @($opcodes).Count
        $probe[0].PSObject.TypeNames[0] | Should -Be 'Uring.PowerShell.OpcodeSupport'
        ($probe.Opcode | Sort-Object -Unique).Count | Should -Be $probe.Count
        foreach ($row in $probe) {
            $row.Opcode | Should -Match '^IORING_OP_'
            $row.Number | Should -Be ([int][Uring.Bindings.io_uring_op]$row.Opcode)
            $row.Supported | Should -BeOfType ([bool])
        }
    }

    It 'says the opcodes this module runs are supported' {
        $rows = Get-UringProbe NOP, READ, WRITE, OPENAT, CLOSE, STATX, ASYNC_CANCEL, TIMEOUT
        $rows.Count | Should -Be 8
        $rows | Where-Object { -not $_.Supported } | Should -BeNullOrEmpty
    }

    It 'agrees with the kernel''s probe as a ring sees it' {
        $ring = New-UringRing -Entries 8
        try {
            foreach ($row in Get-UringProbe) {
                $row.Supported | Should -Be $ring.IsSupported([Uring.Bindings.io_uring_op]$row.Opcode) -Because $row.Opcode
            }
        }
        finally {
            $ring.Dispose()
        }
    }

    It 'selects by name, with or without the IORING_OP_ prefix, with wildcards, from the pipeline' {
        (Get-UringProbe read).Opcode | Should -Be 'IORING_OP_READ'
        (Get-UringProbe IORING_OP_WRITE).Opcode | Should -Be 'IORING_OP_WRITE'
        $reads = Get-UringProbe 'READ*'
        $reads.Opcode | Should -Contain 'IORING_OP_READV'
        $reads.Opcode | ForEach-Object { $_ | Should -Match '^IORING_OP_READ' }
        ('nop', 'close' | Get-UringProbe).Opcode | Should -Be @('IORING_OP_NOP', 'IORING_OP_CLOSE')
    }

    It 'reports an unknown opcode name as ObjectNotFound' {
        Get-UringProbe NO_SUCH_OP -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].FullyQualifiedErrorId | Should -Be 'OpcodeNotFound,Uring.PowerShell.GetUringProbeCommand'
        Get-UringProbe 'NO_SUCH*' -ErrorVariable none | Should -BeNullOrEmpty
        $none | Should -BeNullOrEmpty
    }

    It 'shows a table of Number, Opcode and Supported' {
        $shown = Get-UringProbe nop | Out-String
        $shown | Should -Match 'Number\s+Opcode\s+Supported'
        $shown | Should -Match '0\s+IORING_OP_NOP\s+True'
    }
}
