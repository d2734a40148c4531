#!/usr/bin/env pwsh
# PowerShell twin of build.sh (same steps, same output). NOT RUN HERE: this machine has no
# PowerShell; build.sh is the tested entry point.
#   ./build.ps1 generate | test | bench | pack
param(
    [Parameter(Position = 0, Mandatory = $true)][ValidateSet('generate', 'test', 'bench', 'pack')][string]$Command,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'

function Write-Step($text) { [Console]::Error.WriteLine("==> $text") }

function Install-Packages([string[]]$extra = @()) {
    $wanted = @('libclang1-14', 'libclang-common-14-dev', 'gcc', 'libc6-dev', 'binutils', 'python3') + $extra
    $missing = $wanted | Where-Object { -not ((& dpkg-query -W -f='${Status}' $_ 2>$null) -match 'install ok installed') }
    if ($missing) {
        Write-Step "installing Debian packages: $($missing -join ' ')"
        $sudo = if ((& id -u) -eq '0') { @() } else { @('sudo') }
        & @sudo apt-get update -qq
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & @sudo apt-get install -y -qq @missing | Out-Null
    }
}

function Invoke-Checked([string]$file, [string[]]$arguments) {
    & $file @arguments
    if ($LASTEXITCODE -ne 0) { throw "$file $($arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Generator([string[]]$arguments) {
    Invoke-Checked dotnet @('build', 'generator/Uring.Generator.csproj', '-c', 'Release', '-nologo', '-v', 'q', '-clp:ErrorsOnly')
    Invoke-Checked dotnet (@('generator/bin/Release/net10.0/uring-gen.dll') + $arguments)
}

switch ($Command) {
    'generate' {
        Install-Packages
        Invoke-Checked bash @('liburing-headers/fetch.sh') | Out-Null
        Invoke-Generator (@('generate') + $Rest)
        $generated = @('src/Bindings/Generated', 'python/uring/_errno.py')
        $changes = & git status --porcelain -- @generated
        if (-not $changes) { Write-Step "$($generated -join ' '): identical to the checked-in files" }
        else { Write-Step "$($generated -join ' '): differ from the checked-in files:"; $changes | ForEach-Object { [Console]::Error.WriteLine($_) } }
    }
    'test' {
        # The test run is the same script: one definition of what "all tests" means.
        Install-Packages
        Invoke-Checked bash (@('./build.sh', 'test') + $Rest)
    }
    'bench' {
        Install-Packages @('fio')
        Invoke-Checked bash (@('./build.sh', 'bench') + $Rest)
    }
    'pack' {
        # Same script: the packages come from one definition.
        Invoke-Checked bash (@('./build.sh', 'pack') + $Rest)
    }
}
