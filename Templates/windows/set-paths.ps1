# octoprov step `set-paths` on a windows host: creates the server folders and points the instance at them.
# Rendered by octoprov from Templates/windows/set-paths.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'set-paths'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$folders_packages = {{ folders_packages }}
$folders_artifacts = {{ folders_artifacts }}
$folders_task_logs = {{ folders_task_logs }}
$folders_imports = {{ folders_imports }}
$folders_event_exports = {{ folders_event_exports }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Creates the instance's folders and points the instance at them (path); the restored database still
    # holds production's paths. --imports exists from 2021.1 and --eventExports from 2023.3.
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before set-paths.' }
    $folders = New-Object System.Collections.Generic.List[object]
    $folders.Add(@('nugetRepository', 'Octopus.Folders.PackagesDirectory', $folders_packages))
    $folders.Add(@('artifacts', 'Octopus.Folders.ArtifactsDirectory', $folders_artifacts))
    $folders.Add(@('taskLogs', 'Octopus.Folders.LogDirectory', $folders_task_logs))
    if (Test-VersionAtLeast $version '2021.1') { $folders.Add(@('imports', 'Octopus.Folders.ImportsDirectory', $folders_imports)) }
    if (Test-VersionAtLeast $version '2023.3') { $folders.Add(@('eventExports', 'Octopus.Folders.EventExportsDirectory', $folders_event_exports)) }
    $changed = $false
    $pathsMatch = $true
    $arguments = @('path', ('--instance=' + $instance_name))
    foreach ($folder in $folders) {
        if (-not $folder[2]) { Stop-Step ('The folder for --' + $folder[0] + ' is empty.') }
        if (-not (Test-Path -LiteralPath $folder[2] -PathType Container)) {
            [void][IO.Directory]::CreateDirectory($folder[2])
            $changed = $true
        }
        $arguments += ('--' + $folder[0] + '=' + $folder[2])
        if ((Get-ConfigValue $folder[1]) -ne $folder[2]) { $pathsMatch = $false }
        Add-Fact ('folder_' + $folder[0]) $folder[2]
    }
    if ($pathsMatch) {
        if ($changed) { Complete-Step $true 'Created the missing folders; the instance already uses them.' }
        Complete-Step $false 'The instance already uses these folders.'
    }
    Say 'Pointing the instance at its folders.'
    Invoke-Octopus $arguments
    Complete-Step $true 'Pointed the instance at its own folders.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
