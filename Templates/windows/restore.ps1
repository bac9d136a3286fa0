# octoprov step `restore` on a windows host: restores the uploaded backup as a new database.
# Rendered by octoprov from Templates/windows/restore.ps1; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts"). Runs with Windows PowerShell 5.1 (powershell -File).
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'restore'

# The values octoprov rendered for this host, each one single-quoted (verbatim) string.
$work_dir = {{ work_dir }}
$install_dir = {{ install_dir }}
$sql_server = {{ sql_server }}
$instance_name = {{ instance_name }}
$database = {{ database }}
$backup_file = {{ backup_file }}
$backup_sha256 = {{ backup_sha256 }}
$data_dir = {{ data_dir }}
$version = {{ version }}

{{> _common/powershell.ps1 }}

{{> windows/_platform.ps1 }}

try {
    # Restores the uploaded backup as a new database (never over an existing one), after RESTORE
    # FILELISTONLY names its files, and checks that the backup comes from the pinned Octopus version.
    if ($backup_sha256 -cnotmatch '^[0-9a-f]{64}$') { Stop-Step 'backup_sha256 is not a lower-case hex SHA-256.' }
    $existsSql = Assert-SqlFile 'database-exists.sql'
    $filelistSql = Assert-SqlFile 'restore-filelist.sql'
    $restoreSql = Assert-SqlFile 'restore.sql'
    $verifySql = Assert-SqlFile 'verify-quarantine.sql'
    function Assert-BackupVersion {
        $found = Get-SqlValue 'octopus_version'
        Add-Fact 'octopus_version' $found
        if ($found -and (Get-VersionCore $found) -ne (Get-VersionCore $version)) {
            Stop-Step ('The backup comes from Octopus ' + $found + ' but the pinned version is ' + $version + '; pin ' + $found + ' (a clone must run the backup''s version), then upgrade.')
        }
    }
    Add-Fact 'database' $database
    Say ('Checking whether the database exists on ' + $sql_server + '.')
    if (-not (Invoke-Sql $existsSql)) { Stop-Step 'Checking whether the database exists failed; see the sqlcmd output above.' }
    if ((Get-SqlValue 'database_exists') -ne '0') {
        if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the existing database failed; see the sqlcmd output above.' }
        if ((Get-SqlValue 'restore_sha256') -ne $backup_sha256) {
            Stop-Step 'The database already exists and was not restored by octoprov from this backup; octoprov never overwrites a database, so drop it or choose another database name.'
        }
        Assert-BackupVersion
        Complete-Step $false 'The database was already restored from this backup.'
    }
    if (-not (Test-Path -LiteralPath $backup_file -PathType Leaf)) { Stop-Step 'The backup file is not on the host; the upload-backup step puts it in the work folder.' }
    Say 'Reading the backup''s file list (RESTORE FILELISTONLY).'
    if (-not (Invoke-Sql $filelistSql)) {
        if ($script:SqlOutput -match 'Access is denied|Operating system error 5') {
            Stop-Step 'SQL Server cannot read the backup file; let its service account read the work folder, then run the step again.'
        }
        Stop-Step 'RESTORE FILELISTONLY failed; see the sqlcmd output above.'
    }
    $dataLogical = ''
    $logLogical = ''
    $dataFiles = 0
    $logFiles = 0
    $otherFiles = 0
    foreach ($line in ($script:SqlOutput -split '\r?\n')) {
        $fields = $line.Split('|')
        if ($fields.Count -lt 3 -or -not $fields[1] -or -not $fields[2]) { continue }
        if ($fields[2] -eq 'D') { $dataFiles++; $dataLogical = $fields[0] }
        elseif ($fields[2] -eq 'L') { $logFiles++; $logLogical = $fields[0] }
        else { $otherFiles++ }
    }
    if ($dataFiles -ne 1 -or $logFiles -ne 1 -or $otherFiles -ne 0) {
        Stop-Step ('The backup has ' + $dataFiles + ' data, ' + $logFiles + ' log and ' + $otherFiles + ' other files; octoprov restores backups with one data file and one log file, as Octopus creates them.')
    }
    foreach ($name in @($dataLogical, $logLogical)) {
        if ($name -match '[\x00-\x1f]') { Stop-Step 'A logical file name in the backup has a control character; octoprov does not restore it.' }
    }
    if (-not $data_dir) { Stop-Step 'data_dir is empty; set it to the SQL Server data folder for the restored files.' }
    [void][IO.Directory]::CreateDirectory($data_dir)
    $stem = $database -replace '[^A-Za-z0-9._-]', '_'
    $dataFile = Join-Path $data_dir ($stem + '.mdf')
    $logFile = Join-Path $data_dir ($stem + '_log.ldf')
    if ((Test-Path -LiteralPath $dataFile) -or (Test-Path -LiteralPath $logFile)) {
        Stop-Step 'The data folder already holds files named for this database; octoprov does not overwrite them.'
    }
    function ConvertTo-TsqlLiteral([string]$Text) { return "N'" + $Text.Replace("'", "''") + "'" }
    $prelude = '-- Written by the restore step on the host: the names only known at run time.' + "`r`n" +
        'DECLARE @data_logical NVARCHAR(128) = ' + (ConvertTo-TsqlLiteral $dataLogical) + ', @log_logical NVARCHAR(128) = ' + (ConvertTo-TsqlLiteral $logLogical) + ";`r`n" +
        'DECLARE @data_file NVARCHAR(4000) = ' + (ConvertTo-TsqlLiteral $dataFile) + ', @log_file NVARCHAR(4000) = ' + (ConvertTo-TsqlLiteral $logFile) + ";`r`n"
    $runFile = Join-Path $work_dir 'restore-run.sql'
    $utf8 = New-Object System.Text.UTF8Encoding $false
    try {
        [IO.File]::WriteAllText($runFile, $prelude + [IO.File]::ReadAllText($restoreSql, $utf8), $utf8)
        Say 'Restoring the backup as the new database.'
        if (-not (Invoke-Sql $runFile)) { Stop-Step 'RESTORE DATABASE failed; see the sqlcmd output above.' }
    } finally {
        Remove-Item -LiteralPath $runFile -Force -ErrorAction SilentlyContinue
    }
    if (-not (Invoke-Sql $verifySql)) { Stop-Step 'Reading the restored database failed; see the sqlcmd output above.' }
    if ((Get-SqlValue 'restore_sha256') -ne $backup_sha256) { Stop-Step 'The restored database has no octoprov restore record; see the sqlcmd output above.' }
    Add-Fact 'data_file' $dataFile
    Add-Fact 'log_file' $logFile
    Assert-BackupVersion
    Complete-Step $true 'Restored the backup as a new database.'
} catch {
    Stop-Step ('The ' + $step + ' step failed: ' + $_.Exception.Message)
}
