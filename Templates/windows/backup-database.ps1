# octoprov step `backup-database` on a windows host: backs up the database before the upgrade, unless that backup is already there.
# Rendered by octoprov from Templates/windows/backup-database.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'backup-database'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$database = {{ database }}
$version = {{ version }}
$from_version = {{ from_version }}
$upgrade_backup_file = {{ upgrade_backup_file }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Backs up the database at from_version into upgrade_backup_file (sql/backup-database.sql; SQL Server
    # writes the file, so its service account must be able to write to the work folder, as it reads the
    # backup there in restore) before anything changes, unless the database is already at the target or
    # the file already holds this database's backup at from_version: RESTORE HEADERONLY
    # (sql/backup-header.sql) shows a set named octoprov-upgrade-<from_version>, described with the
    # database's Installation ID, of this database.
{{> windows/_same-version.ps1 }}
    # Test-BackedUp: whether the backup file holds this database's backup set at from_version.
    function Test-BackedUp {
        if (-not (Test-Path -LiteralPath $upgrade_backup_file -PathType Leaf)) { return $false }
        if (-not (Invoke-Sql $headerSql)) { return $false }
        $prefix = 'octoprov-upgrade-' + $from_version + '|' + $installationId + '|'
        foreach ($line in ($script:SqlOutput -split '\r?\n')) {
            if ($line.StartsWith($prefix) -and $line.Contains('|' + $database + '|')) { return $true }
        }
        return $false
    }
    foreach ($pair in @(@('version', $version), @('from_version', $from_version))) {
        if ($pair[1] -notmatch '^\d+(\.\d+){1,3}$') { Stop-Step ('The option ' + $pair[0] + ' is not a dotted version like 2023.3.13026.') }
    }
    $versionSql = Assert-SqlFile 'database-version.sql'
    $headerSql = Assert-SqlFile 'backup-header.sql'
    $backupSql = Assert-SqlFile 'backup-database.sql'
    Add-Fact 'upgrade_backup_file' $upgrade_backup_file
    if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
    $databaseVersion = Get-SqlValue 'database_version'
    $installationId = Get-SqlValue 'installation_id'
    Add-Fact 'database_version' $databaseVersion
    if (Test-SameVersion $databaseVersion $version) {
        Complete-Step $false ('The database is already at ' + $version + '; it needs no backup before the upgrade.')
    }
    if (-not (Test-SameVersion $databaseVersion $from_version)) {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', not at the instance''s version ' + $from_version + '; octoprov backs up only the database it provisioned.')
    }
    if (Test-BackedUp) { Complete-Step $false ('The work folder already holds this database''s backup at ' + $from_version + '.') }
    Say ('Backing up the database at ' + $from_version + '.')
    if (-not (Invoke-Sql $backupSql)) { Stop-Step 'BACKUP DATABASE failed; see the sqlcmd output above.' }
    if (-not (Test-BackedUp)) { Stop-Step ('RESTORE HEADERONLY does not show this database''s backup at ' + $from_version + ' in the new backup file.') }
    Add-Fact 'upgrade_backup_bytes' ([string](Get-Item -LiteralPath $upgrade_backup_file).Length)
    Complete-Step $true ('Backed up the database at ' + $from_version + ' to the work folder.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
