# octoprov step `teardown` on a windows host: tears the instance and its database down so that it can be provisioned again.
# Rendered by octoprov from Templates/windows/teardown.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'teardown'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$home_dir = {{ home_dir }}
$config_path = {{ config_path }}
$connection_string = {{ connection_string }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Tears the instance down so that provision builds it again (octoprov rebuild): stops and uninstalls
    # the Windows service, deletes the database (database --delete while the instance exists and uses
    # this database, else sql/drop-database.sql), deletes the instance, its config file and the markers
    # of the admin and drain steps. Octopus Server stays installed; the home and server folders
    # (Packages, Artifacts, TaskLogs, EventExports, Imports) and what octoprov uploaded to the work
    # folder (the backup, the MSI) stay, so that the next provisioning copies only what changed.
    # Write-ahead: forget first which provisioning and upgrade steps this host finished, so that if this
    # teardown stops half-way, the next provision runs every step again instead of trusting a half-torn host.
    foreach ($name in @('octoprov-steps.json', 'octoprov-upgrade-steps.json')) {
        Remove-Item -LiteralPath (Join-Path $work_dir $name) -Force -ErrorAction SilentlyContinue
    }
    $changed = $false
    if (Test-Path -LiteralPath $octopus_server_exe -PathType Leaf) {
        if (Test-Instance) {
            $service = Get-Service | Where-Object { $_.Name -eq (Get-ServiceName) } | Select-Object -First 1
            if ($service) {
                Say 'Stopping and uninstalling the service.'
                Invoke-Octopus @('service', ('--instance=' + $instance_name), '--stop', '--uninstall')
            }
            if ((Get-ConfigValue 'Octopus.Storage.ExternalDatabaseConnectionString') -eq $connection_string) {
                Say 'Deleting the instance''s database.'
                Invoke-Octopus @('database', ('--instance=' + $instance_name), '--delete')
            }
            Say 'Deleting the instance.'
            Invoke-Octopus @('delete-instance', ('--instance=' + $instance_name))
            $changed = $true
        }
    }
    $existsSql = Assert-SqlFile 'database-exists.sql'
    $dropSql = Assert-SqlFile 'drop-database.sql'
    if (-not (Invoke-Sql $existsSql)) { Stop-Step 'Checking whether the database exists failed; see the sqlcmd output above.' }
    if ((Get-SqlValue 'database_exists') -ne '0') {
        Say 'Dropping the database.'
        if (-not (Invoke-Sql $dropSql)) { Stop-Step 'Dropping the database failed; see the sqlcmd output above.' }
        if (-not (Invoke-Sql $existsSql)) { Stop-Step 'Checking whether the database exists failed; see the sqlcmd output above.' }
        if ((Get-SqlValue 'database_exists') -ne '0') { Stop-Step 'The database still exists after DROP DATABASE.' }
        $changed = $true
    }
    foreach ($path in @($config_path, (Join-Path $home_dir 'octoprov-admin.state'), (Join-Path $work_dir 'octoprov-upgrade-drained'))) {
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            Remove-Item -LiteralPath $path -Force
            $changed = $true
        }
    }
    if ($changed) { Complete-Step $true 'Tore the instance and its database down; the server folders and the work folder''s uploads stay.' }
    Complete-Step $false 'There is no instance or database to tear down.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
