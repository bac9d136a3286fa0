if [[ $mode == clone ]]; then
    [[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
    require_sql verify-quarantine.sql
    run_sql "$work_dir/verify-quarantine.sql" >/dev/null || fail "Reading the database failed; see the sqlcmd output above."
    [[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] ||
        fail "The database has no quarantine record for this backup; octoprov refuses to start a clone that was not quarantined."
fi
