# powershell/example.ps1, run as a user would: a new pwsh, the module found on PSModulePath.
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
}

Describe 'example.ps1' {
    It 'runs to the end, every step printing what it did, its catch blocks included' {
        $moduleRoot = Split-Path -Parent (Split-Path -Parent (Get-UringTestModulePath))
        $saved = $env:PSModulePath
        try {
            $env:PSModulePath = $moduleRoot + [IO.Path]::PathSeparator + $env:PSModulePath
            $output = & (Get-PwshPath) -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot '../example.ps1') 2>&1
            $exitCode = $LASTEXITCODE
        }
        finally {
            $env:PSModulePath = $saved
        }
        $text = $output -join "`n"
        $exitCode | Should -Be 0 -Because $text
        $output[0] | Should -Match '^kernel \S+: \d+ of \d+ io_uring opcodes supported$'
        $output[1..($output.Count - 1)] | Should -Be @(
            'nop -> 0'
            'wrote 39 bytes'
            'read back: hello from PowerShell through io_uring'
            'copy is identical: True'
            'timeouts elapsed: True, True, True'
            'pending read: IORING_OP_READ Pending'
            'cancel -> Cancelled'
            'the read ended: OperationStopped (OperationCanceledException)'
            'no such file: ENOENT from IORING_OP_OPENAT (ObjectNotFound)'
        )
        Get-ChildItem ([IO.Path]::GetTempPath()) -Filter 'uring-example-*' | Should -BeNullOrEmpty
    }
}
