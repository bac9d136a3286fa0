# octoprov step `create-database` on a windows host: creates a test instance's new database.
# Rendered by octoprov from Templates/windows/create-database.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'create-database'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$database = {{ database }}
$connection_string = {{ connection_string }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Test-instance flow: creates the instance's new, empty database (database --create). It never takes
    # over a database that exists already, unless this instance already uses it.
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before create-database.' }
    $existsSql = Assert-SqlFile 'database-exists.sql'
    Add-Fact 'database' $database
    $current = Get-ConfigValue 'Octopus.Storage.ExternalDatabaseConnectionString'
    if (-not (Invoke-Sql $existsSql)) { Stop-Step 'Checking whether the database exists failed; see the sqlcmd output above.' }
    if ((Get-SqlValue 'database_exists') -ne '0') {
        if ($current -ne $connection_string) {
            Stop-Step 'The database already exists and this instance does not use it; octoprov does not take over a database, so drop it or choose another database name.'
        }
        Complete-Step $false 'The instance already uses its database.'
    }
    Say 'Creating the database.'
    Invoke-Octopus @('database', ('--instance=' + $instance_name), ('--connectionString=' + $connection_string), '--create')
    Complete-Step $true 'Created the database.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
