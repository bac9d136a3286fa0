# octoprov step `drain` on a windows host: drains the node and stops the old version's service before the new one is installed.
# Rendered by octoprov from Templates/windows/drain.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'drain'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$from_version = {{ from_version }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # While the old version still runs: drains the node (node --drain=true --wait, so that running tasks
    # can finish and no new ones start) and stops the service, so that the MSI of the new version
    # installs over a stopped server. Skipped when the database is already at the target or the service
    # is not running. A marker in the work folder records that octoprov drained the node, so that
    # undrain restores the state the node had before: a node that was already draining stays draining.
    $drainWait = 300
    $marker = Join-Path $work_dir 'octoprov-upgrade-drained'
{{> windows/_same-version.ps1 }}
{{> windows/_node-draining.ps1 }}
    # Test-ServiceRunning: whether the instance's Windows service runs.
    function Test-ServiceRunning {
        $service = Get-Service | Where-Object { $_.Name -eq (Get-ServiceName) } | Select-Object -First 1
        return ($null -ne $service -and $service.Status -eq 'Running')
    }
{{> windows/_read-database-version.ps1 }}
    Add-Fact 'database_version' $databaseVersion
    if (Test-SameVersion $databaseVersion $version) {
        Complete-Step $false ('The database is already at ' + $version + '; there is nothing to drain.')
    }
    if (-not (Test-SameVersion $databaseVersion $from_version)) {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', not at the instance''s version ' + $from_version + '; octoprov drains only the instance it provisioned.')
    }
    if (-not (Test-ServiceRunning)) {
        Add-Fact 'node_draining' ([string](Test-NodeDraining)).ToLowerInvariant()
        Complete-Step $false 'The service is not running; there is nothing to drain or stop.'
    }
    if (Test-NodeDraining) {
        Say 'The node is already draining.'
    } else {
        Set-Content -LiteralPath $marker -Value ('octoprov drained the node before the upgrade from ' + $from_version + ' to ' + $version + '.') -Encoding UTF8
        Say ('Draining the node (waiting up to ' + $drainWait + ' seconds for its tasks).')
        Invoke-Octopus @('node', ('--instance=' + $instance_name), '--drain=true', ('--wait=' + $drainWait))
    }
    Add-Fact 'node_draining' 'true'
    Say 'Stopping the service.'
    Invoke-Octopus @('service', ('--instance=' + $instance_name), '--stop')
    if (Test-ServiceRunning) { Stop-Step 'The service is still running after service --stop.' }
    Complete-Step $true 'Drained the node and stopped the service.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
