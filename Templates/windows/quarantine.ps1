# octoprov step `quarantine` on a windows host: quarantines the restored database before any Octopus Server starts on it.
# Rendered by octoprov from Templates/windows/quarantine.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'quarantine'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$mode = {{ mode }}
$backup_sha256 = {{ backup_sha256 }}
$server_uri = {{ server_uri }}
$quarantine_server_nodes = {{ quarantine_server_nodes }}
$quarantine_targets = {{ quarantine_targets }}
$quarantine_workers = {{ quarantine_workers }}
$quarantine_triggers = {{ quarantine_triggers }}
$quarantine_subscriptions = {{ quarantine_subscriptions }}
$quarantine_installation_id = {{ quarantine_installation_id }}
$quarantine_queued_tasks = {{ quarantine_queued_tasks }}
$quarantine_server_uri = {{ quarantine_server_uri }}
$quarantine_extensions = {{ quarantine_extensions }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Quarantines the restored database before any Octopus Server runs on it (sql/quarantine.sql), then
    # reads it back (sql/verify-quarantine.sql) and fails unless every part that is switched on took. The
    # facts are the counts verify compares with the API's, and the rows in spaces that do not exist
    # (sql/rows-and-spaces.sql), which the API does not show.
    if ($mode -ne 'clone') { Stop-Step ('The quarantine step belongs to the clone flow, not to mode ' + $mode + '.') }
    if ($backup_sha256 -cnotmatch '^[0-9a-f]{64}$') { Stop-Step 'backup_sha256 is not a lower-case hex SHA-256.' }
    $options = [ordered]@{
        quarantine_server_nodes = $quarantine_server_nodes
        quarantine_targets = $quarantine_targets
        quarantine_workers = $quarantine_workers
        quarantine_triggers = $quarantine_triggers
        quarantine_subscriptions = $quarantine_subscriptions
        quarantine_installation_id = $quarantine_installation_id
        quarantine_queued_tasks = $quarantine_queued_tasks
        quarantine_server_uri = $quarantine_server_uri
        quarantine_extensions = $quarantine_extensions
    }
    foreach ($name in $options.Keys) { Assert-Flag $name $options[$name] }
    $verifySql = Assert-SqlFile 'verify-quarantine.sql'
    $quarantineSql = Assert-SqlFile 'quarantine.sql'
    $rowsSql = Assert-SqlFile 'rows-and-spaces.sql'
    function Test-Recorded {
        if ((Get-SqlValue 'quarantine_sha256') -ne $backup_sha256) { return $false }
        foreach ($name in $options.Keys) {
            if ((Get-SqlValue $name) -cne $options[$name]) { return $false }
        }
        return $true
    }
    # Get-RowsOutsideSpaces: the rows of sql/rows-and-spaces.sql whose SpaceId names no space (a hashtable
    # compares case-insensitively, as SQL Server does), the first 20 as `Table Id (SpaceId)` joined by ', ',
    # then 'and N more'; empty when there are none or no spaces. Keeps the output Get-SqlValue reads.
    function Get-RowsOutsideSpaces {
        $saved = $script:SqlOutput
        if (-not (Invoke-Sql $rowsSql -Quiet)) { Stop-Step 'Reading the spaces of the rows failed; see the sqlcmd output above.' }
        $lines = @([string]$script:SqlOutput -split '\r?\n')
        $script:SqlOutput = $saved
        $spaces = @{}
        foreach ($line in $lines) {
            if ($line.StartsWith('space_id|') -and $line.Length -gt 9) { $spaces[$line.Substring(9)] = $true }
        }
        $rows = New-Object System.Collections.Generic.List[string]
        $count = 0
        foreach ($line in $lines) {
            $parts = $line.Split('|')
            if ($parts.Count -ne 4 -or $parts[0] -ne 'row_space') { continue }
            if ($parts[3] -and $spaces.ContainsKey($parts[3])) { continue }
            $count++
            if ($count -le 20) { $rows.Add($parts[1] + ' ' + $parts[2] + ' (' + $parts[3] + ')') }
        }
        $text = $rows -join ', '
        if ($count -gt 20) { $text += ' and ' + ($count - 20) + ' more' }
        return $text
    }
    function Add-Counts {
        Add-Fact 'rows_outside_spaces' (Get-RowsOutsideSpaces)
        foreach ($name in @('server_nodes', 'spaces', 'projects', 'machines', 'machines_enabled', 'workers',
                'workers_enabled', 'triggers', 'triggers_enabled', 'subscriptions', 'subscriptions_enabled',
                'tasks_pending', 'extensions_to_remove', 'installation_id', 'server_uri', 'production_installation_id',
                'production_server_uri')) {
            Add-Fact $name (Get-SqlValue $name)
        }
    }
    Say 'Reading the restored database.'
    if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the restored database failed; run the restore step first.' }
    if ((Get-SqlValue 'restore_sha256') -ne $backup_sha256) { Stop-Step 'The database was not restored from this backup by octoprov; run the restore step first.' }
    if (Test-Recorded) {
        Add-Counts
        Complete-Step $false 'The database is already quarantined for this backup with these options.'
    }
    $installationIdBefore = Get-SqlValue 'installation_id'
    Say 'Quarantining the database (one transaction).'
    if (-not (Invoke-Sql $quarantineSql)) { Stop-Step 'The quarantine SQL failed and was rolled back; see the sqlcmd output above.' }
    if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the quarantined database failed; see the sqlcmd output above.' }
    if (-not (Test-Recorded)) { Stop-Step 'The quarantine record was not written; see the sqlcmd output above.' }
    $problems = New-Object System.Collections.Generic.List[string]
    foreach ($check in @(
            @($quarantine_server_nodes, 'server_nodes', 'server node rows remain'),
            @($quarantine_targets, 'machines_enabled', 'targets are enabled'),
            @($quarantine_workers, 'workers_enabled', 'workers are enabled'),
            @($quarantine_triggers, 'triggers_enabled', 'triggers are enabled'),
            @($quarantine_subscriptions, 'subscriptions_enabled', 'subscriptions are enabled'),
            @($quarantine_queued_tasks, 'tasks_pending', 'tasks are queued or executing'),
            @($quarantine_extensions, 'extensions_to_remove', 'extension settings remain'))) {
        $count = Get-SqlValue $check[1]
        if ($check[0] -eq 'true' -and $count -and $count -ne '0') { $problems.Add($count + ' ' + $check[2]) }
    }
    if ($quarantine_installation_id -eq 'true' -and $installationIdBefore -and (Get-SqlValue 'installation_id') -eq $installationIdBefore) {
        $problems.Add('the Installation ID is unchanged')
    }
    $uri = Get-SqlValue 'server_uri'
    if ($quarantine_server_uri -eq 'true' -and $uri -and $uri -ne $server_uri) { $problems.Add('the Server URI is not the clone''s') }
    if ($problems.Count -gt 0) { Stop-Step ('The quarantine did not take: ' + ($problems -join ', ') + '.') }
    Add-Counts
    Complete-Step $true 'Quarantined the database: targets, workers, triggers and subscriptions are disabled as configured.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
