# octoprov step `upgrade-database` on a windows host: upgrades the stopped instance's database to the installed version.
# Rendered by octoprov from Templates/windows/upgrade-database.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'upgrade-database'

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
    # Upgrades the stopped instance's database to the installed target version (database --upgrade: the
    # new version's upgrade scripts, in one transaction). Skipped when the database is already at the
    # target; refused before the target is installed and while the service still runs.
{{> windows/_same-version.ps1 }}
{{> windows/_read-database-version.ps1 }}
    if (Test-SameVersion $databaseVersion $version) {
        Add-Fact 'database_version' $databaseVersion
        Complete-Step $false ('The database is already at ' + $version + '.')
    }
    if (-not (Test-SameVersion $databaseVersion $from_version)) {
        Stop-Step ('The database is at Octopus ' + $databaseVersion + ', not at the instance''s version ' + $from_version + '; octoprov upgrades only the database it provisioned.')
    }
    $installed = Get-InstalledVersion
    Add-Fact 'installed_version' $installed
    if (-not (Test-SameVersion $installed $version)) {
        Stop-Step ('Octopus Server ' + $installed + ' is installed, not ' + $version + '; the install step comes before the database upgrade.')
    }
    $service = Get-Service | Where-Object { $_.Name -eq (Get-ServiceName) } | Select-Object -First 1
    if ($null -ne $service -and $service.Status -eq 'Running') {
        Stop-Step 'The service is still running; the drain step stops it before the database upgrade.'
    }
    Say ('Upgrading the database from ' + $databaseVersion + ' to ' + $version + '.')
    Invoke-Octopus @('database', ('--instance=' + $instance_name), '--upgrade')
    if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the upgraded database failed; see the sqlcmd output above.' }
    $databaseVersion = Get-SqlValue 'database_version'
    Add-Fact 'database_version' $databaseVersion
    if (-not (Test-SameVersion $databaseVersion $version)) {
        Stop-Step ('After database --upgrade the database is at Octopus ' + $databaseVersion + ', not ' + $version + '.')
    }
    Complete-Step $true ('Upgraded the database from ' + $from_version + ' to ' + $version + '.')
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
