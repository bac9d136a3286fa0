require_sql database-version.sql
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
same_version "$database_version" "$version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not $version; the upgrade-database step comes before undrain."
if [[ ! -f $marker ]]; then
    if node_draining; then fact node_draining true; else fact node_draining false; fi
    finish false "octoprov did not drain the node, so its drain state stays as it is."
fi
