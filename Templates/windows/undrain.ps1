# octoprov step `undrain` on a windows host: lets the node take tasks again if the drain step drained it.
# Rendered by octoprov from Templates/windows/undrain.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'undrain'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Once the new version runs: lets the node take tasks again (node --drain=false) when the drain step
    # drained it (its marker in the work folder). A node that was draining before the upgrade stays
    # draining; a node that is not draining is left alone.
    $marker = Join-Path $work_dir 'octoprov-upgrade-drained'
{{> windows/_same-version.ps1 }}
{{> windows/_node-draining.ps1 }}
{{> windows/_read-database-version.ps1 }}
    Add-Fact 'database_version' $databaseVersion
    if (-not (Test-SameVersion $databaseVersion $version)) {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', not ' + $version + '; the upgrade-database step comes before undrain.')
    }
    if (-not (Test-Path -LiteralPath $marker -PathType Leaf)) {
        Add-Fact 'node_draining' ([string](Test-NodeDraining)).ToLowerInvariant()
        Complete-Step $false 'octoprov did not drain the node, so its drain state stays as it is.'
    }
    if (Test-NodeDraining) {
        Say 'Ending the node''s drain.'
        Invoke-Octopus @('node', ('--instance=' + $instance_name), '--drain=false')
        if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
        if (Test-NodeDraining) { Stop-Step 'The node is still draining after node --drain=false.' }
        Remove-Item -LiteralPath $marker -Force
        Add-Fact 'node_draining' 'false'
        Complete-Step $true 'The node takes tasks again.'
    }
    Remove-Item -LiteralPath $marker -Force
    Add-Fact 'node_draining' 'false'
    Complete-Step $false 'The node is not draining.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
