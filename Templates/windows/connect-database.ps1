# octoprov step `connect-database` on a windows host: connects the instance to the quarantined database with the Master Key.
# Rendered by octoprov from Templates/windows/connect-database.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'connect-database'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$database = {{ database }}
$connection_string = {{ connection_string }}
$backup_sha256 = {{ backup_sha256 }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Clone flow: points the instance at the restored, quarantined database with production's Master Key
    # (database --connectionString --masterKey). The key arrives on stdin; Octopus.Server only takes it as
    # the documented --masterKey flag, so it is in that one process's command line on the host.
    $secrets = Read-Secrets @('master_key')
    if (-not $secrets['master_key']) { Stop-Step 'The master_key secret was not given on standard input.' }
    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist; the create-instance step comes before connect-database.' }
    if ($backup_sha256 -cnotmatch '^[0-9a-f]{64}$') { Stop-Step 'backup_sha256 is not a lower-case hex SHA-256.' }
    $verifySql = Assert-SqlFile 'verify-quarantine.sql'
    if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the restored database failed; run the restore and quarantine steps first.' }
    if ((Get-SqlValue 'quarantine_sha256') -ne $backup_sha256) {
        Stop-Step 'The database has no quarantine record for this backup; octoprov connects Octopus to a restored database only after the quarantine step.'
    }
    Add-Fact 'database' $database
    if ((Get-ConfigValue 'Octopus.Storage.ExternalDatabaseConnectionString') -eq $connection_string) {
        $keyResult = Invoke-Native $octopus_server_exe @('show-master-key', ('--instance=' + $instance_name), '--format=json', '--console')
        $start = $keyResult.Output.IndexOf('{')
        if ($keyResult.ExitCode -eq 0 -and $start -ge 0) {
            $key = ''
            try { $key = [string]($keyResult.Output.Substring($start) | ConvertFrom-Json).MasterKey } catch { }
            if ($key -ceq $secrets['master_key']) { Complete-Step $false 'The instance already uses the database with this Master Key.' }
        }
    }
    Say 'Connecting the instance to the database with the Master Key.'
    Invoke-Octopus @('database', ('--instance=' + $instance_name), ('--connectionString=' + $connection_string), ('--masterKey=' + $secrets['master_key']))
    Complete-Step $true 'Connected the instance to the restored database.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
