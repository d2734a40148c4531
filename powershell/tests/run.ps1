#!/usr/bin/env pwsh
# Runs the module's Pester tests with Pester 5.7.1 from the NuGet cache (restored with
# src/Uring.PowerShell) against the built module, and ends with the line build.sh counts:
# "N passed, N failed, N skipped". Exit code 1 when anything failed.
#   dotnet build src/Uring.PowerShell -c Release
#   dotnet pwsh powershell/tests/run.ps1 [-Path powershell/tests/Files.Tests.ps1] [-Output Normal]
param(
    [string[]]$Path = @($PSScriptRoot),
    [string]$Module = (Join-Path $PSScriptRoot '../../src/Uring.PowerShell/bin/Release/Uring/Uring.psd1'),
    [string]$ResultFile = (Join-Path $PSScriptRoot '../../artifacts/test-results/pester.xml'),
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')][string]$Output = 'Detailed'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$pesterVersion = '5.7.1'
$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
    ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
}
$pester = Join-Path $packages "pester/$pesterVersion/tools/Pester.psd1"
if (-not (Test-Path $pester)) {
    throw "Pester $pesterVersion is not in the NuGet cache ($pester). 'dotnet restore src/Uring.PowerShell' brings it."
}
if (-not (Test-Path $Module)) {
    throw "The module is not built ($Module). Run 'dotnet build src/Uring.PowerShell -c Release'."
}
Import-Module $pester -RequiredVersion $pesterVersion
# The test files import the module from here.
$env:URING_TEST_MODULE = (Resolve-Path $Module).Path

$config = New-PesterConfiguration
$config.Run.Path = @($Path | ForEach-Object { $_ -split ',' }) # pwsh -File passes 'a,b' as one string
$config.Run.PassThru = $true
$config.Output.Verbosity = $Output
if ([Console]::IsOutputRedirected) { $config.Output.RenderMode = 'Plaintext' } # no colour codes in logs
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $ResultFile)
$config.TestResult.OutputPath = $ResultFile

$result = Invoke-Pester -Configuration $config
if ($null -eq $result -or $null -eq $result.PSObject.Properties['FailedCount']) {
    '0 passed, 1 failed, 0 skipped' # Pester itself failed
    exit 1
}
# A failure in a BeforeAll or in discovery fails no test by itself: count it.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
"$($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
