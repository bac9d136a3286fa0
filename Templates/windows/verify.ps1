# octoprov step `verify` on a windows host: checks on the host that a clone's database is still quarantined.
# Rendered by octoprov from Templates/windows/verify.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'verify'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$mode = {{ mode }}
$backup_sha256 = {{ backup_sha256 }}
$quarantine_targets = {{ quarantine_targets }}
$quarantine_workers = {{ quarantine_workers }}
$quarantine_triggers = {{ quarantine_triggers }}
$quarantine_subscriptions = {{ quarantine_subscriptions }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # The host's part of verify: reads the database (sql/verify-quarantine.sql) and fails unless a clone is
    # still quarantined: its record is for this backup and nothing switched off is on again.
    if ($mode -ne 'clone') {
        Add-Fact 'mode' $mode
        Complete-Step $false 'A test instance has no quarantine to check on the host.'
    }
    $verifySql = Assert-SqlFile 'verify-quarantine.sql'
    if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
    foreach ($name in @('quarantine_sha256', 'installation_id', 'server_uri', 'server_nodes', 'machines', 'machines_enabled',
            'workers', 'workers_enabled', 'triggers', 'triggers_enabled', 'subscriptions', 'subscriptions_enabled',
            'tasks_pending', 'extensions_to_remove', 'octopus_version')) {
        Add-Fact $name (Get-SqlValue $name)
    }
    if ((Get-SqlValue 'quarantine_sha256') -ne $backup_sha256) { Stop-Step 'The database has no quarantine record for this backup; it is not a quarantined clone.' }
    $problems = New-Object System.Collections.Generic.List[string]
    foreach ($check in @(
            @($quarantine_targets, 'machines_enabled', 'targets'),
            @($quarantine_workers, 'workers_enabled', 'workers'),
            @($quarantine_triggers, 'triggers_enabled', 'triggers'),
            @($quarantine_subscriptions, 'subscriptions_enabled', 'subscriptions'))) {
        $count = Get-SqlValue $check[1]
        if ($check[0] -eq 'true' -and $count -and $count -ne '0') { $problems.Add($count + ' ' + $check[2]) }
    }
    if ($problems.Count -gt 0) { Stop-Step ('The clone is no longer quarantined: ' + ($problems -join ', ') + ' are enabled.') }
    Complete-Step $false 'The clone''s database is still quarantined.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
