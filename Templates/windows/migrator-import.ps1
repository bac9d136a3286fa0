# octoprov step `migrator-import` on a windows host: imports a partial export with Octopus.Migrator (before 2021.1).
# Rendered by octoprov from Templates/windows/migrator-import.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'migrator-import'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$export_directory = {{ export_directory }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Test-instance flow before 2021.1: imports a partial export with Octopus.Migrator.exe import. The
    # export password arrives on stdin and reaches the Migrator only as its documented --password flag.
    # octoprov replaces the export folder with each new export; projects already on the instance are
    # skipped by the Migrator, so the step is changed only when it says it imported one.
    $secrets = Read-Secrets @('export_password')
    if (-not $secrets['export_password']) { Stop-Step 'The export_password secret was not given on standard input.' }
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before migrator-import.' }
    $migrator = Join-Path $install_dir 'Octopus.Migrator.exe'
    if (-not (Test-Path -LiteralPath $migrator -PathType Leaf)) {
        Stop-Step 'Octopus.Migrator.exe is not in the install folder; use Export/Import Projects (Octopus 2021.1 or later) instead.'
    }
    $metadata = Join-Path $export_directory 'metadata.json'
    if (-not (Test-Path -LiteralPath $metadata -PathType Leaf)) { Stop-Step 'The export folder has no metadata.json; upload the partial export first.' }
    Say 'Importing the partial export.'
    $result = Invoke-Native $migrator @('import', ('--instance=' + $instance_name), ('--directory=' + $export_directory), ('--password=' + $secrets['export_password']), '--console')
    if ($result.Output) { Say $result.Output.TrimEnd() }
    if ($result.ExitCode -ne 0) { Stop-Step ('Octopus.Migrator import failed with exit status ' + $result.ExitCode + '; see its output above.') }
    # The Migrator's summary: `Imported N project(s) from DIR: ...[; skipped (already exist ...): ...].`
    if ($result.Output -match 'Imported (\d+) project') {
        $imported = [int]$Matches[1]
        Add-Fact 'imported_projects' $imported
        if ($imported -eq 0) { Complete-Step $false 'The exported projects are already on the instance; Octopus.Migrator imported none.' }
        Complete-Step $true ('Imported ' + $imported + ' project(s) with Octopus.Migrator.')
    }
    Complete-Step $true 'Imported the partial export with Octopus.Migrator.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
