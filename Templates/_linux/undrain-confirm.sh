    run_sql "$work_dir/database-version.sql" >/dev/null || fail "Reading the database failed; see the sqlcmd output above."
    if node_draining; then fail "The node is still draining after node --drain=false."; fi
    rm -f -- "$marker"
    fact node_draining false
    finish true "The node takes tasks again."
