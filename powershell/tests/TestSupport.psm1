# Helpers shared by the module's Pester tests.
Set-StrictMode -Version Latest

function Get-UringTestModulePath {
    if ($env:URING_TEST_MODULE) { return $env:URING_TEST_MODULE }
    (Resolve-Path (Join-Path $PSScriptRoot '../../src/Uring.PowerShell/bin/Release/Uring/Uring.psd1')).Path
}

function Import-UringTestModule {
    Import-Module (Get-UringTestModulePath) -Global
}

# The pwsh that runs the tests, to start another one (the process itself is dotnet when pwsh
# runs as a dotnet tool; $PSHOME holds the pwsh app host).
function Get-PwshPath {
    $apphost = Join-Path $PSHOME 'pwsh'
    if (Test-Path $apphost) { return $apphost }
    (Get-Process -Id $PID).Path
}

# The fds that an io_uring command could leak: rings, their eventfds, pipes and FIFOs, and files
# under $Directory. (A plain count of /proc/self/fd also sees .NET opening its own files lazily.)
function Get-WatchedFd([string]$Directory = [IO.Path]::GetTempPath()) {
    foreach ($entry in [IO.Directory]::GetFileSystemEntries('/proc/self/fd')) {
        $target = [IO.FileInfo]::new($entry).LinkTarget
        if ($target -and ($target -match 'io_uring|eventfd|^pipe:' -or $target.StartsWith($Directory))) {
            "$([IO.Path]::GetFileName($entry)) -> $target"
        }
    }
}

function New-RandomFile([string]$Path, [int]$Length) {
    $bytes = [byte[]]::new($Length)
    [Random]::new($Length).NextBytes($bytes)
    [IO.File]::WriteAllBytes($Path, $bytes)
    , $bytes
}

function Get-Sha256([string]$Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash }

# An anonymous pipe with both ends open: a read of ReadFd stays pending until Dispose.
function New-PendingPipe {
    $server = [IO.Pipes.AnonymousPipeServerStream]::new([IO.Pipes.PipeDirection]::In)
    [pscustomobject]@{
        Server = $server
        ReadFd = [int]$server.SafePipeHandle.DangerousGetHandle()
    } | Add-Member -MemberType ScriptMethod -Name Dispose -Value { $this.Server.DisposeLocalCopyOfClientHandle(); $this.Server.Dispose() } -PassThru
}

# A PowerShell in a runspace of this process with the module imported, for what a test must
# observe from outside the pipeline: progress records, and stopping (Ctrl+C) a running command.
function New-UringRunspaceShell {
    $state = [Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
    $state.ImportPSModule([string[]]@(Get-UringTestModulePath))
    [PowerShell]::Create($state)
}

# What the prompt would show for $InputObject (Out-String), computed in another runspace so that a
# display that waits for an operation fails the test instead of hanging it: $null when it did not
# finish within $Seconds.
function Get-DisplayText($InputObject, [double]$Seconds = 30) {
    $shell = New-UringRunspaceShell
    $null = $shell.AddCommand('Out-String').AddParameter('InputObject', $InputObject)
    $running = $shell.BeginInvoke()
    if (-not $running.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Seconds))) {
        return $null # left running: disposing it would wait too
    }
    try { $shell.EndInvoke($running) -join '' } finally { $shell.Dispose() }
}

# Stops what $Shell runs, as Ctrl+C does; true when it stopped within $Seconds. (A command that
# ignored the stop would block PowerShell.Stop() for good: the caller unblocks it instead.)
function Stop-ShellWithin([PowerShell]$Shell, [double]$Seconds = 15) {
    $stopping = $Shell.BeginStop($null, $null)
    $stopping.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Seconds))
}

# Waits until $Condition is true, or fails after $Seconds.
function Wait-Until([scriptblock]$Condition, [double]$Seconds = 10) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while (-not (& $Condition)) {
        if ($clock.Elapsed.TotalSeconds -gt $Seconds) { throw "condition not met within $Seconds s: $Condition" }
        Start-Sleep -Milliseconds 20
    }
}

Export-ModuleMember -Function *
