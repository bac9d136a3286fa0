# The host's part of verify: reads the database (sql/verify-quarantine.sql) and fails unless a clone
# is still quarantined: its record is for this backup and nothing switched off is on again.
read_sql_secret
if [[ $mode != clone ]]; then
    fact mode "$mode"
    finish false "A test instance has no quarantine to check on the host."
fi
require_sql_tools
require_sql verify-quarantine.sql
run_sql "$work_dir/verify-quarantine.sql" || fail "Reading the database failed; see the sqlcmd output above."
for name in quarantine_sha256 installation_id server_uri server_nodes machines machines_enabled workers \
    workers_enabled triggers triggers_enabled subscriptions subscriptions_enabled tasks_pending \
    extensions_to_remove octopus_version; do
    fact "$name" "$(sql_value "$name")"
done
[[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] || fail "The database has no quarantine record for this backup; it is not a quarantined clone."
problems=()
for check in "$quarantine_targets machines_enabled targets" "$quarantine_workers workers_enabled workers" \
    "$quarantine_triggers triggers_enabled triggers" "$quarantine_subscriptions subscriptions_enabled subscriptions"; do
    read -r option name what <<<"$check"
    count=$(sql_value "$name")
    if [[ $option == true && -n $count && $count != 0 ]]; then problems+=("$count $what"); fi
done
if ((${#problems[@]})); then
    joined=$(printf '%s, ' "${problems[@]}")
    fail "The clone is no longer quarantined: ${joined%, } are enabled."
fi
finish false "The clone's database is still quarantined."
