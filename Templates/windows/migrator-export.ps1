# octoprov step `migrator-export` on a windows SOURCE host: writes a partial export of the chosen projects with Octopus.Migrator (before 2021.1).
# Rendered by octoprov from Templates/windows/migrator-export.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'migrator-export'

# The values octoprov rendered for the source host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Test-instance flow before 2021.1, on the source host: exports the chosen projects with
    # Octopus.Migrator.exe partial-export (--ignore-history --ignore-deployments --ignore-machines) into a
    # fresh folder under work_dir, which octoprov downloads and then removes. Standard input carries the
    # export password (`export_password=BASE64`) and one `project=BASE64` line per project. The password
    # reaches the Migrator as its documented --password flag, Octopus.Migrator.exe's only interface for it,
    # so it is in that one process's command line on the host while it runs (docs/templates.md, Secrets).
    $password = ''
    $projects = New-Object System.Collections.Generic.List[string]
    foreach ($line in ([Console]::In.ReadToEnd() -split '\r?\n')) {
        $at = $line.IndexOf('=')
        if ($at -lt 1) { continue }
        $name = $line.Substring(0, $at)
        if ($name -ne 'export_password' -and $name -ne 'project') { continue }
        try {
            $value = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($line.Substring($at + 1)))
        } catch {
            Stop-Step ('The value ' + $name + ' on standard input is not base64.')
        }
        if ($name -eq 'export_password') { $password = $value } else { $projects.Add($value) }
    }
    if (-not $password) { Stop-Step 'The export_password secret was not given on standard input.' }
    if ($projects.Count -eq 0) { Stop-Step 'No project was given on standard input; octoprov sends the selected projects.' }
    Assert-Octopus
    if (-not (Test-Instance)) {
        Stop-Step 'The source host has no Octopus instance of the source host''s instance_name; set its instance_name and install_dir vars to the source server''s.'
    }
    $migrator = Join-Path $install_dir 'Octopus.Migrator.exe'
    if (-not (Test-Path -LiteralPath $migrator -PathType Leaf)) {
        Stop-Step 'Octopus.Migrator.exe is not in the install folder of the source host; use a source at Octopus 2021.1 or later (Export/Import Projects) instead.'
    }
    $directory = Join-Path $work_dir ('migrator-export.' + [Guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $directory | Out-Null
    $arguments = @('partial-export', ('--instance=' + $instance_name))
    foreach ($project in $projects) { $arguments += ('--project=' + $project) }
    $arguments += @(('--directory=' + $directory), ('--password=' + $password), '--ignore-history', '--ignore-deployments', '--ignore-machines', '--console')
    Say ('Exporting ' + $projects.Count + ' project(s) with Octopus.Migrator.exe partial-export.')
    $result = Invoke-Native $migrator $arguments
    if ($result.Output) { Say $result.Output.TrimEnd() }
    if ($result.ExitCode -ne 0) {
        Remove-Item -LiteralPath $directory -Recurse -Force -ErrorAction SilentlyContinue
        Stop-Step ('Octopus.Migrator partial-export failed with exit status ' + $result.ExitCode + '; see its output above.')
    }
    if (-not (Test-Path -LiteralPath (Join-Path $directory 'metadata.json') -PathType Leaf)) {
        Stop-Step 'Octopus.Migrator partial-export wrote no metadata.json; see its output above.'
    }
    Add-Fact 'export_directory' $directory
    Complete-Step $true ('Exported ' + $projects.Count + ' project(s) with Octopus.Migrator.exe partial-export.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
