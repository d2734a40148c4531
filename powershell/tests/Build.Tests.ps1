# build.ps1: its package step as root and as a normal user, with the system commands it calls
# replaced by recorders (the real ones would install packages).
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:buildScript = Join-Path $PSScriptRoot '../../build.ps1'
    $parseErrors = $null
    $script:ast = [Management.Automation.Language.Parser]::ParseFile($buildScript, [ref]$null, [ref]$parseErrors)
    $script:parseErrors = $parseErrors
    $functions = $ast.FindAll({ param($node) $node -is [Management.Automation.Language.FunctionDefinitionAst] }, $false)
    $script:definitions = ($functions | Where-Object Name -In 'Write-Step', 'Invoke-AsRoot', 'Install-Packages' | ForEach-Object { $_.Extent.Text }) -join "`n"

    # Defines build.ps1's functions in the caller's scope (dot-source it), with recorders for
    # id, dpkg-query, sudo, env and apt-get there too: functions shadow the programs, and the
    # recorders find $calls, $fakeUid and $fakeInstalled through PowerShell's dynamic scoping.
    function script:Use-BuildFunctions([string]$fakeUid, [string[]]$fakeInstalled) {
        $calls = [Collections.Generic.List[string]]::new()
        function id { $global:LASTEXITCODE = 0; $fakeUid }
        function dpkg-query { $global:LASTEXITCODE = 0; if ($args[-1] -in $fakeInstalled) { 'install ok installed' } }
        function sudo { $calls.Add("sudo $($args -join ' ')"); $global:LASTEXITCODE = 0 }
        function env { $calls.Add("env $($args -join ' ')"); $global:LASTEXITCODE = 0 }
        function apt-get { $calls.Add("apt-get $($args -join ' ')"); $global:LASTEXITCODE = 0 }
        . ([scriptblock]::Create($definitions))
    }
}

Describe 'build.ps1' {
    It 'installs missing packages with apt-get directly when run as root' {
        . Use-BuildFunctions '0' @('gcc', 'libc6-dev', 'binutils', 'python3', 'libclang-common-14-dev')
        Install-Packages 2>$null
        $calls | Should -Be @(
            'apt-get update -qq'
            'env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang1-14'
        )
    }

    It 'installs missing packages through sudo when run as a normal user' {
        . Use-BuildFunctions '1000' @('libclang1-14', 'libclang-common-14-dev', 'gcc', 'libc6-dev', 'binutils', 'python3')
        Install-Packages @('fio') 2>$null
        $calls | Should -Be @(
            'sudo apt-get update -qq'
            'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio'
        )
    }

    It 'installs nothing when every package is there' {
        . Use-BuildFunctions '1000' @('libclang1-14', 'libclang-common-14-dev', 'gcc', 'libc6-dev', 'binutils', 'python3')
        Install-Packages
        $calls | Should -BeNullOrEmpty
    }

    It 'stops when apt-get fails' {
        . Use-BuildFunctions '0' @()
        function apt-get { $global:LASTEXITCODE = 100 }
        { Install-Packages 2>$null } | Should -Throw '*apt-get update -qq failed with exit code 100*'
    }

    It 'checks the same generated files as build.sh' {
        $bash = Get-Content -Raw (Join-Path $PSScriptRoot '../../build.sh')
        $bash -match '(?m)^generated_paths=\(([^)]*)\)' | Should -BeTrue
        $fromBash = $Matches[1] -split '\s+' | Where-Object { $_ }
        $assignment = $ast.Find({ param($node) $node -is [Management.Automation.Language.AssignmentStatementAst] -and $node.Left.Extent.Text -eq '$generatedPaths' }, $true)
        $fromPowerShell = $assignment.Right.Extent.Text | Invoke-Expression
        $fromPowerShell | Should -Be $fromBash
    }

    It 'parses without errors' {
        $parseErrors | Should -BeNullOrEmpty
    }
}
