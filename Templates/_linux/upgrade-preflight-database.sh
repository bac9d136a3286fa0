require_sql database-exists.sql
require_sql database-version.sql
require_sql database-size.sql
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
[[ $(sql_value database_exists) == 1 ]] || fail "The instance's database does not exist; provision the instance before upgrading it."
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
