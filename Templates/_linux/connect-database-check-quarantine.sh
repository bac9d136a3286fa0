[[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
require_sql verify-quarantine.sql
run_sql "$work_dir/verify-quarantine.sql" >/dev/null || fail "Reading the restored database failed; run the restore and quarantine steps first."
[[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] ||
    fail "The database has no quarantine record for this backup; octoprov connects Octopus to a restored database only after the quarantine step."
fact database "$database"
