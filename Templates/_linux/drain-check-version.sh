require_sql database-version.sql
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
if same_version "$database_version" "$version"; then
    finish false "The database is already at $version; there is nothing to drain."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov drains only the instance it provisioned."
