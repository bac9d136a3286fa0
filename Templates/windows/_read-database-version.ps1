    Assert-Octopus
    if (-not (Test-Instance)) { Stop-Step 'The instance does not exist on the host; provision it before upgrading it.' }
    $versionSql = Assert-SqlFile 'database-version.sql'
    if (-not (Invoke-Sql $versionSql)) { Stop-Step 'Reading the database failed; see the sqlcmd output above.' }
    $databaseVersion = Get-SqlValue 'database_version'
