# Read-UringFile and Copy-UringFile.
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    Import-UringTestModule
    $script:readId = 'Uring.PowerShell.ReadUringFileCommand'
    $script:copyId = 'Uring.PowerShell.CopyUringFileCommand'
    $script:isRoot = (& id -u) -eq '0'
}

Describe 'Read-UringFile' {
    It 'returns the <Length> bytes of a file as one byte[]' -ForEach @(
        @{ Length = 0 }, @{ Length = 1 }, @{ Length = 4096 }, @{ Length = 300001 }
    ) {
        $path = Join-Path $TestDrive "data-$Length.bin"
        $expected = New-RandomFile $path $Length
        $content = Read-UringFile -Path $path
        Write-Output -NoEnumerate $content | Should -BeOfType ([byte[]])
        $content.Length | Should -Be $Length
        [Linq.Enumerable]::SequenceEqual($content, $expected) | Should -BeTrue
    }

    It 'reads in blocks of -BlockSize' {
        $path = Join-Path $TestDrive 'blocks.bin'
        $expected = New-RandomFile $path 1000
        $content = Read-UringFile -Path $path -BlockSize 7
        [Linq.Enumerable]::SequenceEqual($content, $expected) | Should -BeTrue
    }

    It 'reads a file whose size statx does not know (/proc)' {
        $content = Read-UringFile -Path /proc/self/status
        [Text.Encoding]::ASCII.GetString($content) | Should -Match 'Name:'
    }

    It 'resolves a relative path against the current location, not the process directory' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'here')
        Set-Content -LiteralPath (Join-Path $dir 'note.txt') -Value 'relative' -NoNewline
        Push-Location $dir
        try {
            [Text.Encoding]::ASCII.GetString((Read-UringFile note.txt)) | Should -Be 'relative'
        }
        finally {
            Pop-Location
        }
    }

    It 'expands wildcards in -Path and takes -LiteralPath as written' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'wild')
        'a', 'b' | ForEach-Object { Set-Content -LiteralPath (Join-Path $dir "x$_.txt") -Value $_ -NoNewline }
        Set-Content -LiteralPath (Join-Path $dir 'x[1].txt') -Value 'literal' -NoNewline
        $all = Read-UringFile -Path (Join-Path $dir 'x?.txt')
        $all | ForEach-Object { [Text.Encoding]::ASCII.GetString($_) } | Should -Be @('a', 'b')
        [Text.Encoding]::ASCII.GetString((Read-UringFile -LiteralPath (Join-Path $dir 'x[1].txt'))) | Should -Be 'literal'
    }

    It 'reads the files Get-ChildItem pipes in, one byte[] each' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'piped')
        1..3 | ForEach-Object { Set-Content -LiteralPath (Join-Path $dir "$_.txt") -Value ('x' * $_) -NoNewline }
        $contents = @(Get-ChildItem -LiteralPath $dir -File | Sort-Object Name | Read-UringFile)
        $contents.Count | Should -Be 3
        $contents | ForEach-Object { $_.Length } | Should -Be @(1, 2, 3)
    }

    It 'reports a missing file as ObjectNotFound (ENOENT), with the path as target' {
        $missing = Join-Path $TestDrive 'missing.bin'
        $out = Read-UringFile -Path $missing -ErrorVariable failures -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].FullyQualifiedErrorId | Should -Be "ENOENT,$readId"
        $failures[0].TargetObject | Should -Be $missing
        $failures[0].Exception.Opcode | Should -Be 'IORING_OP_OPENAT'
        "$($failures[0])" | Should -Match ([regex]::Escape("Cannot read '$missing'"))
    }

    It 'reports a directory as InvalidArgument (EISDIR from the read)' {
        Read-UringFile -Path $TestDrive -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failures[0].FullyQualifiedErrorId | Should -Be "EISDIR,$readId"
        $failures[0].Exception.Errno | Should -Be 21
        $failures[0].Exception.Opcode | Should -Be 'IORING_OP_READ'
    }

    It 'reports a file it may not read as PermissionDenied (EACCES)' {
        if ($isRoot) {
            # root passes file permission checks; a write-only sysctl refuses even root a read
            $path = '/proc/sys/vm/compact_memory'
            if (-not (Test-Path $path)) { Set-ItResult -Skipped -Because "$path is missing and root reads every ordinary file"; return }
        }
        else {
            $path = Join-Path $TestDrive 'secret.bin'
            Set-Content -LiteralPath $path -Value 'secret'
            [IO.File]::SetUnixFileMode($path, [IO.UnixFileMode]::None)
        }
        Read-UringFile -Path $path -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $failures[0].FullyQualifiedErrorId | Should -Be "EACCES,$readId"
    }

    It 'reports a wildcard that matches nothing as ObjectNotFound' {
        Read-UringFile -Path (Join-Path $TestDrive 'nothing*.bin') -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].FullyQualifiedErrorId | Should -Be "PathNotFound,$readId"
    }

    It 'refuses a path of another provider as InvalidArgument' {
        Read-UringFile -Path Env:PATH -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failures[0].FullyQualifiedErrorId | Should -Be "NotAFileSystemPath,$readId"
    }

    It 'goes on with the next path after an error' {
        $good = Join-Path $TestDrive 'good.txt'
        Set-Content -LiteralPath $good -Value 'ok' -NoNewline
        $out = @(Read-UringFile -Path (Join-Path $TestDrive 'nope.txt'), $good -ErrorVariable failures -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 1
        [Text.Encoding]::ASCII.GetString($out[0]) | Should -Be 'ok'
        $failures.Count | Should -Be 1
    }

    It 'with -ErrorAction Stop, throws a terminating error that catch sees with its errno' {
        $caught = $null; $reached = $false
        try { Read-UringFile -Path (Join-Path $TestDrive 'nope.txt') -ErrorAction Stop; $reached = $true } catch { $caught = $_ }
        $reached | Should -BeFalse
        $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $caught.Exception.ErrnoName | Should -Be 'ENOENT'
    }

    It 'leaves no fd and no native memory behind, after successes and failures' {
        $path = Join-Path $TestDrive 'leak.bin'
        $null = New-RandomFile $path 200000
        $run = {
            $null = Read-UringFile -Path $path
            $null = Read-UringFile -Path $TestDrive, (Join-Path $TestDrive 'nope') -ErrorAction SilentlyContinue
        }
        & $run # warm-up: .NET opens some files of its own on first use
        $fds = Get-WatchedFd $TestDrive
        $memory = [Uring.NativeMemoryStatistics]::LiveBytes
        1..10 | ForEach-Object { & $run }
        Get-WatchedFd $TestDrive | Should -Be $fds
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -Be $memory
    }

    It 'stops on Ctrl+C during a read that waits for data, and closes what it opened' {
        $fifo = Join-Path $TestDrive 'fifo'
        & mkfifo $fifo
        # a writer keeps the FIFO open, so the module's openat returns and its read waits
        $writer = [IO.File]::Open($fifo, 'Open', 'ReadWrite')
        $shell = New-UringRunspaceShell
        try {
            $fds = Get-WatchedFd $TestDrive
            $null = $shell.AddCommand('Read-UringFile').AddParameter('LiteralPath', $fifo)
            $null = $shell.BeginInvoke()
            Wait-Until { @(Get-WatchedFd $TestDrive).Count -gt @($fds).Count + 1 } # the ring and the FIFO
            Start-Sleep -Milliseconds 200
            Stop-ShellWithin $shell | Should -BeTrue -Because 'Ctrl+C must end a read that waits for data'
            $shell.InvocationStateInfo.State | Should -Be 'Stopped'
            $shell.Dispose()
            Get-WatchedFd $TestDrive | Should -Be $fds
        }
        finally {
            $writer.Dispose() # the read sees the end of the FIFO, if it is still waiting
            $shell.Dispose()
        }
    }

    It 'reports progress for a file of several blocks, ending with a completion record' {
        $path = Join-Path $TestDrive 'progress.bin'
        $null = New-RandomFile $path 1000000
        $shell = New-UringRunspaceShell
        try {
            $null = $shell.AddCommand('Read-UringFile').AddParameter('Path', $path).AddParameter('BlockSize', 65536)
            $out = $shell.Invoke()
            $out[0].Length | Should -Be 1000000
            $records = @($shell.Streams.Progress)
            $records[0].Activity | Should -Be 'Read-UringFile'
            $percents = @($records | Where-Object RecordType -EQ 'Processing' | ForEach-Object PercentComplete)
            $percents.Count | Should -BeGreaterThan 5
            $percents | Should -Be ($percents | Sort-Object)
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally {
            $shell.Dispose()
        }
    }
}

Describe 'Copy-UringFile' {
    BeforeEach {
        $script:dir = New-Item -ItemType Directory (Join-Path $TestDrive ([Guid]::NewGuid()))
    }

    It 'copies a file of <Length> bytes byte for byte' -ForEach @(
        @{ Length = 0 }, @{ Length = 1 }, @{ Length = 131072 }, @{ Length = 1000003 }
    ) {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source $Length
        Copy-UringFile -Path $source -Destination (Join-Path $dir 'copy.bin') | Should -BeNullOrEmpty
        Get-Sha256 (Join-Path $dir 'copy.bin') | Should -Be (Get-Sha256 $source)
    }

    It 'copies with many small blocks in flight (-BlockSize, -Depth)' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 100001
        Copy-UringFile $source (Join-Path $dir 'copy.bin') -BlockSize 4096 -Depth 8
        Get-Sha256 (Join-Path $dir 'copy.bin') | Should -Be (Get-Sha256 $source)
    }

    It 'copies a file whose reads come back short (/proc/kallsyms) byte for byte' {
        # seq_file ends a read at a record boundary: most 4 KiB reads of kallsyms return less
        # than asked although the file goes on, so each block is finished with a second read.
        if (-not (Test-Path /proc/kallsyms)) { Set-ItResult -Skipped -Because 'this kernel has no /proc/kallsyms'; return }
        $copy = Join-Path $dir 'kallsyms'
        foreach ($attempt in 1..3) {
            $before = [IO.File]::ReadAllBytes('/proc/kallsyms')
            Copy-UringFile -LiteralPath /proc/kallsyms -Destination $copy -BlockSize 4096 -Depth 1 -Force
            $after = [IO.File]::ReadAllBytes('/proc/kallsyms')
            if ([Linq.Enumerable]::SequenceEqual($before, $after)) { break } # else a module or BPF program came or went: again
        }
        (Get-Item $copy).Length | Should -Be $after.Length
        Get-Sha256 $copy | Should -Be ([BitConverter]::ToString([Security.Cryptography.SHA256]::HashData($after)).Replace('-', ''))
    }

    It 'copies into an existing directory under the source''s name' {
        $source = Join-Path $dir 'named.bin'
        $null = New-RandomFile $source 10
        $into = New-Item -ItemType Directory (Join-Path $dir 'into')
        Copy-UringFile $source $into
        Get-Sha256 (Join-Path $into 'named.bin') | Should -Be (Get-Sha256 $source)
    }

    It 'gives the copy the source''s permission bits' {
        $source = Join-Path $dir 'mode.bin'
        $null = New-RandomFile $source 10
        [IO.File]::SetUnixFileMode($source, [IO.UnixFileMode]'UserRead, UserWrite, GroupRead')
        Copy-UringFile $source (Join-Path $dir 'copy.bin')
        [IO.File]::GetUnixFileMode((Join-Path $dir 'copy.bin')) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, GroupRead')
    }

    It 'refuses to replace a file without -Force (EEXIST, ResourceExists) and leaves it alone' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 100
        $target = Join-Path $dir 'existing.bin'
        Set-Content -LiteralPath $target -Value 'keep me' -NoNewline
        Copy-UringFile $source $target -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $failures[0].FullyQualifiedErrorId | Should -Be "EEXIST,$copyId"
        Get-Content -LiteralPath $target -Raw | Should -Be 'keep me'
    }

    It 'replaces the destination with -Force' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 5000
        $target = Join-Path $dir 'existing.bin'
        Set-Content -LiteralPath $target -Value ('x' * 9000) -NoNewline
        Copy-UringFile $source $target -Force
        Get-Sha256 $target | Should -Be (Get-Sha256 $source)
    }

    It 'refuses to copy a file onto itself, even with -Force, and keeps its content' {
        $source = Join-Path $dir 'self.bin'
        $null = New-RandomFile $source 5000
        $hash = Get-Sha256 $source
        Copy-UringFile $source $source -Force -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -Be "SameFile,$copyId"
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Sha256 $source | Should -Be $hash
    }

    It 'reports a missing source as ObjectNotFound and creates nothing' {
        Copy-UringFile (Join-Path $dir 'missing.bin') (Join-Path $dir 'copy.bin') -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].FullyQualifiedErrorId | Should -Be "ENOENT,$copyId"
        Test-Path (Join-Path $dir 'copy.bin') | Should -BeFalse
    }

    It 'reports a directory as source as InvalidArgument and creates nothing' {
        $sub = New-Item -ItemType Directory (Join-Path $dir 'sub')
        Copy-UringFile -LiteralPath $sub -Destination (Join-Path $dir 'copy.bin') -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -Be "SourceIsDirectory,$copyId"
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Test-Path (Join-Path $dir 'copy.bin') | Should -BeFalse
    }

    It 'reports a destination in a missing directory as ObjectNotFound (ENOENT)' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 10
        Copy-UringFile $source (Join-Path $dir 'no/such/dir/copy.bin') -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failures[0].Exception.Opcode | Should -Be 'IORING_OP_OPENAT'
    }

    It 'copies what Get-ChildItem pipes in; -PassThru writes a FileInfo per copy' {
        1..3 | ForEach-Object { $null = New-RandomFile (Join-Path $dir "$_.bin") (1000 * $_) }
        $into = New-Item -ItemType Directory (Join-Path $dir 'into')
        $copies = Get-ChildItem -LiteralPath $dir -Filter *.bin | Copy-UringFile -Destination $into -PassThru
        $copies.Count | Should -Be 3
        $copies | Should -BeOfType ([IO.FileInfo])
        foreach ($copy in $copies) {
            Get-Sha256 $copy.FullName | Should -Be (Get-Sha256 (Join-Path $dir $copy.Name))
        }
    }

    It 'with -WhatIf, copies nothing' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 10
        Copy-UringFile $source (Join-Path $dir 'copy.bin') -WhatIf
        Test-Path (Join-Path $dir 'copy.bin') | Should -BeFalse
    }

    It 'reports progress: percentages rising to 100, then a completion record' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 2000000
        $shell = New-UringRunspaceShell
        try {
            $null = $shell.AddCommand('Copy-UringFile').AddParameter('Path', $source).AddParameter('Destination', (Join-Path $dir 'copy.bin')).AddParameter('BlockSize', 65536)
            $null = $shell.Invoke()
            $shell.HadErrors | Should -BeFalse
            $records = @($shell.Streams.Progress)
            $records[0].Activity | Should -Be 'Copy-UringFile'
            $records[0].StatusDescription | Should -Match 'source\.bin -> .*copy\.bin'
            $percents = @($records | Where-Object RecordType -EQ 'Processing' | ForEach-Object PercentComplete)
            $percents.Count | Should -BeGreaterThan 10
            $percents | Should -Be ($percents | Sort-Object)
            $percents[-1] | Should -Be 100
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally {
            $shell.Dispose()
        }
    }

    It 'leaves no fd and no native memory behind, after successes and failures' {
        $source = Join-Path $dir 'source.bin'
        $null = New-RandomFile $source 300000
        $run = {
            Copy-UringFile $source (Join-Path $dir 'copy.bin') -Force
            Copy-UringFile $source (Join-Path $dir 'copy.bin') -ErrorAction SilentlyContinue # EEXIST
            Copy-UringFile (Join-Path $dir 'missing') (Join-Path $dir 'other.bin') -ErrorAction SilentlyContinue
        }
        & $run
        $fds = Get-WatchedFd $TestDrive
        $memory = [Uring.NativeMemoryStatistics]::LiveBytes
        1..5 | ForEach-Object { & $run }
        Get-WatchedFd $TestDrive | Should -Be $fds
        [Uring.NativeMemoryStatistics]::LiveBytes | Should -Be $memory
    }

    It 'stops on Ctrl+C, removes the partial copy and closes both files (<Name>)' -ForEach @(
        # statx gives a procfs file size 0, so that copy writes no progress (writing progress
        # is where PowerShell itself would notice a stop): the command's own checks must.
        @{ Name = 'a regular file'; Source = $null }
        @{ Name = 'a file of unknown size'; Source = '/proc/kallsyms' }
    ) {
        $source = $Source
        if (-not $source) {
            $source = Join-Path $dir 'source.bin'
            $null = New-RandomFile $source 4000000
        }
        elseif (-not (Test-Path $source)) { Set-ItResult -Skipped -Because "this kernel has no $source"; return }
        $target = Join-Path $dir 'copy.bin'
        $fds = Get-WatchedFd $TestDrive
        $shell = New-UringRunspaceShell
        # one byte per read and write: millions of operations, so the copy is still running when stopped
        $null = $shell.AddCommand('Copy-UringFile').AddParameter('LiteralPath', $source).AddParameter('Destination', $target).AddParameter('BlockSize', 1).AddParameter('Depth', 1)
        $null = $shell.BeginInvoke()
        Wait-Until { (Test-Path $target) -and (Get-Item $target).Length -gt 0 }
        Stop-ShellWithin $shell | Should -BeTrue -Because 'Ctrl+C must end a copy' # (a copy that goes on is left to end with the process)
        $shell.InvocationStateInfo.State | Should -Be 'Stopped'
        $shell.Dispose()
        Test-Path $target | Should -BeFalse
        Get-WatchedFd $TestDrive | Should -Be $fds
    }
}
