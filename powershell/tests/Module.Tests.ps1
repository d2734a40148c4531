# The module as a whole: what it exports, its verbs, and its help.
BeforeDiscovery {
    $script:commands = @('Copy-UringFile', 'Get-UringProbe', 'New-UringBuffer', 'New-UringRing',
        'Read-UringFile', 'Stop-UringFuture', 'Wait-UringFuture')
}
BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    Import-UringTestModule
    $script:expected = @('Copy-UringFile', 'Get-UringProbe', 'New-UringBuffer', 'New-UringRing',
        'Read-UringFile', 'Stop-UringFuture', 'Wait-UringFuture')
    $script:common = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'The Uring module' {
    It 'exports exactly its seven commands' {
        (Get-Command -Module Uring).Name | Sort-Object | Should -Be $expected
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module Uring) {
            $approved | Should -Contain $command.Verb
        }
    }

    It 'imports into a fresh session without warnings' {
        $script = "Import-Module '$(Get-UringTestModulePath)' -ErrorAction Stop -WarningVariable w; `$w.Count; (Get-Command -Module Uring).Count"
        $output = & (Get-PwshPath) -NoProfile -NonInteractive -Command $script 2>&1
        $LASTEXITCODE | Should -Be 0
        $output | Should -Be @('0', '7')
    }

    It 'answers Get-Help for <_>: synopsis, description, examples, and every parameter described' -ForEach $commands {
        $name = $_
        $help = Get-Help $name -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        # without a help file, Get-Help's synopsis is the syntax line
        $help.Synopsis | Should -Not -Match ([regex]::Escape("$name ["))
        ($help.description.Text -join ' ') | Should -Match '\w{4,}'
        @($help.examples.example).Count | Should -BeGreaterThan 0
        foreach ($example in @($help.examples.example)) {
            $example.code | Should -Match ([regex]::Escape($name))
        }
        $command = Get-Command $name
        $documented = @($help.parameters.parameter.name)
        foreach ($name in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $documented | Should -Contain $name
            $parameter = $help.parameters.parameter | Where-Object name -EQ $name
            ($parameter.description.Text -join ' ') | Should -Match '\w{4,}' -Because "-$name needs a description"
        }
        foreach ($name in $documented) {
            $command.Parameters.Keys | Should -Contain $name -Because 'help describes no parameter the command lacks'
        }
        @($help.syntax.syntaxItem).Count | Should -Be @($command.ParameterSets).Count
    }
}
