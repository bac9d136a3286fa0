require_sql database-version.sql
require_sql backup-header.sql
require_sql backup-database.sql
fact upgrade_backup_file "$upgrade_backup_file"
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
installation_id=$(sql_value installation_id)
fact database_version "$database_version"
if same_version "$database_version" "$version"; then
    finish false "The database is already at $version; it needs no backup before the upgrade."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov backs up only the database it provisioned."
if backed_up; then
    finish false "The work folder already holds this database's backup at $from_version."
fi
say "Backing up the database at $from_version."
run_sql "$work_dir/backup-database.sql" || fail "BACKUP DATABASE failed; see the sqlcmd output above."
backed_up || fail "RESTORE HEADERONLY does not show this database's backup at $from_version in the new backup file."
