#!/usr/bin/env pwsh
# PowerShell twin of build.sh: the same commands and steps. pwsh itself comes from the
# repository's tool manifest (.config/dotnet-tools.json):
#   dotnet tool restore
#   dotnet pwsh ./build.ps1 generate | test | bench | pack
param(
    [Parameter(Position = 0, Mandatory = $true)][ValidateSet('generate', 'test', 'bench', 'pack')][string]$Command,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'

function Write-Step($text) { [Console]::Error.WriteLine("==> $text") }

# Runs a command that needs root: directly as root, through sudo otherwise.
function Invoke-AsRoot([string[]]$commandLine) {
    if ((& id -u) -ne '0') { $commandLine = @('sudo') + $commandLine }
    $arguments = @($commandLine | Select-Object -Skip 1)
    & $commandLine[0] @arguments
    if ($LASTEXITCODE -ne 0) { throw "$($commandLine -join ' ') failed with exit code $LASTEXITCODE" }
}

# Debian packages the build and tests use (see build.sh).
function Install-Packages([string[]]$extra = @()) {
    $wanted = @('libclang1-14', 'libclang-common-14-dev', 'gcc', 'libc6-dev', 'binutils', 'python3') + $extra
    $missing = @($wanted | Where-Object { -not ((& dpkg-query -W -f='${Status}' $_ 2>$null) -match 'install ok installed') })
    if ($missing.Count -gt 0) {
        Write-Step "installing Debian packages: $($missing -join ' ')"
        Invoke-AsRoot @('apt-get', 'update', '-qq')
        # env sets the variable for apt-get itself: sudo would drop it from its own environment.
        Invoke-AsRoot (@('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq') + $missing) | Out-Null
    }
}

function Invoke-Checked([string]$file, [string[]]$arguments) {
    & $file @arguments
    if ($LASTEXITCODE -ne 0) { throw "$file $($arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# What `uring-gen generate` writes for the pinned default (build.sh's generated_paths).
$generatedPaths = @('src/Bindings/Generated', 'python/uring/_errno.py')

switch ($Command) {
    'generate' {
        Install-Packages
        Write-Step 'fetching the pinned default liburing'
        Invoke-Checked bash @('liburing-headers/fetch.sh') | Out-Null
        Invoke-Checked dotnet @('build', 'generator/Uring.Generator.csproj', '-c', 'Release', '-nologo', '-v', 'q', '-clp:ErrorsOnly')
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Invoke-Checked dotnet (@('generator/bin/Release/net10.0/uring-gen.dll', 'generate') + $Rest)
        Invoke-Checked dotnet @('generator/bin/Release/net10.0/uring-gen.dll', 'operations')
        Write-Step "uring-gen generate: $($clock.ElapsedMilliseconds) ms wall clock, process start included"
        $changes = @(& git status --porcelain -- @generatedPaths)
        if ($changes.Count -eq 0) { Write-Step "$($generatedPaths -join ' '): identical to the checked-in files" }
        else {
            Write-Step "$($generatedPaths -join ' '): $($changes.Count) files differ from the checked-in ones:"
            $changes | ForEach-Object { [Console]::Error.WriteLine($_) }
        }
    }
    'test' {
        # The test run is build.sh's: one definition of what "all tests" means (the C# and
        # Python suites, and this module's Pester tests, run by the manifest's pwsh).
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
