# octoprov step `upgrade-preflight` on a windows host: checks that the instance can be upgraded in place, changing nothing.
# Rendered by octoprov from Templates/windows/upgrade-preflight.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'upgrade-preflight'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$version = {{ version }}
$from_version = {{ from_version }}
$upgrade_backup_file = {{ upgrade_backup_file }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Checks, changing nothing, that the instance can be upgraded in place from from_version to version:
    # the instance and its database exist, Octopus.Server.exe and the database are each at from_version
    # or already at the target (a resumed upgrade), the target is not older (octoprov does not
    # downgrade), and the work folder has room for the database's backup (sql/database-size.sql) while
    # one is still to be taken.
{{> windows/_same-version.ps1 }}
{{> windows/_node-draining.ps1 }}
    foreach ($pair in @(@('version', $version), @('from_version', $from_version))) {
        if ($pair[1] -notmatch '^\d+(\.\d+){1,3}$') { Stop-Step ('The option ' + $pair[0] + ' is not a dotted version like 2023.3.13026.') }
    }
    Add-Fact 'from_version' $from_version
    Add-Fact 'target_version' $version
    if (-not (Test-VersionAtLeast $version $from_version)) {
        Stop-Step ('The target version ' + $version + ' is older than the instance''s ' + $from_version + '; octoprov does not downgrade (roll back by restoring the upgrade backup and reinstalling ' + $from_version + ').')
    }
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist on the host; provision it before upgrading it.' }
    $installed = Get-InstalledVersion
    Add-Fact 'installed_version' $installed
    if (-not (Test-SameVersion $installed $from_version) -and -not (Test-SameVersion $installed $version)) {
        Stop-Step ('Octopus Server ' + $installed + ' is installed, neither the instance''s version ' + $from_version + ' nor the target ' + $version + '; octoprov upgrades only what it provisioned.')
    }
    $existsSql = Assert-SqlFile 'database-exists.sql'
    $versionSql = Assert-SqlFile 'database-version.sql'
    $sizeSql = Assert-SqlFile 'database-size.sql'
    if (-not (Invoke-Sql $existsSql)) { Stop-Step 'Checking whether the database exists failed; see the sqlcmd output above.' }
    if ((Get-SqlValue 'database_exists') -ne '1') { Stop-Step 'The instance''s database does not exist; provision the instance before upgrading it.' }
    if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
    $databaseVersion = Get-SqlValue 'database_version'
    Add-Fact 'database_version' $databaseVersion
    Add-Fact 'node_draining' ([string](Test-NodeDraining)).ToLowerInvariant()
    $service = Get-Service | Where-Object { $_.Name -eq (Get-ServiceName) } | Select-Object -First 1
    Add-Fact 'service_running' ([string]($null -ne $service -and $service.Status -eq 'Running')).ToLowerInvariant()
    if (Test-SameVersion $databaseVersion $version) {
        $upgraded = $true
    } elseif (Test-SameVersion $databaseVersion $from_version) {
        $upgraded = $false
    } else {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', neither the instance''s version ' + $from_version + ' nor the target ' + $version + '; octoprov upgrades only the database it provisioned.')
    }
    Add-Fact 'database_upgraded' ([string]$upgraded).ToLowerInvariant()
    Add-Fact 'upgrade_backup_file' $upgrade_backup_file
    $free = Get-FreeBytes $work_dir
    Add-Fact 'free_bytes_work_dir' $free
    if ($upgraded) { Complete-Step $false ('The instance''s database is already upgraded to ' + $version + '.') }
    if (-not (Invoke-Sql $sizeSql)) { Stop-Step 'Reading the database''s size failed; see the sqlcmd output above.' }
    $databaseBytes = Get-SqlValue 'database_bytes'
    Add-Fact 'database_bytes' $databaseBytes
    if (-not (Test-Path -LiteralPath $upgrade_backup_file -PathType Leaf) -and $databaseBytes -match '^\d+$' -and $free -match '^\d+$' -and [long]$free -lt [long]$databaseBytes) {
        Stop-Step ('The work folder has ' + $free + ' bytes free, less than the ' + $databaseBytes + ' bytes the database''s backup may take; free some space on the host.')
    }
    Complete-Step $false ('Octopus Server ' + $installed + ' and its database at ' + $databaseVersion + ' can be upgraded to ' + $version + '.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
