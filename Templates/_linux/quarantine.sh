# Quarantines the restored database before any Octopus Server runs on it (sql/quarantine.sql), then
# reads it back (sql/verify-quarantine.sql) and fails unless every part that is switched on took. The
# facts are the counts verify compares with the API's, and the rows in spaces that do not exist
# (sql/rows-and-spaces.sql), which the API does not show.
read_sql_secret
require_sql_tools
[[ $mode == clone ]] || fail "The quarantine step belongs to the clone flow, not to mode $mode."
[[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
# The quarantine options, name=value; each must be true or false.
options=(
    "quarantine_server_nodes=$quarantine_server_nodes"
    "quarantine_targets=$quarantine_targets"
    "quarantine_workers=$quarantine_workers"
    "quarantine_triggers=$quarantine_triggers"
    "quarantine_subscriptions=$quarantine_subscriptions"
    "quarantine_installation_id=$quarantine_installation_id"
    "quarantine_queued_tasks=$quarantine_queued_tasks"
    "quarantine_server_uri=$quarantine_server_uri"
    "quarantine_extensions=$quarantine_extensions"
)
for entry in "${options[@]}"; do check_flag "${entry%%=*}" "${entry#*=}"; done
require_sql verify-quarantine.sql
require_sql quarantine.sql
require_sql rows-and-spaces.sql

# recorded: whether the database's quarantine record is for this backup and these options.
recorded() {
    local entry
    [[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] || return 1
    for entry in "${options[@]}"; do
        [[ $(sql_value "${entry%%=*}") == "${entry#*=}" ]] || return 1
    done
}
# read_rows_outside_spaces: sets $rows_outside_spaces to the rows of sql/rows-and-spaces.sql whose SpaceId
# names no space (compared case-insensitively, as SQL Server does), the first 20 as `Table Id (SpaceId)`
# joined by ", ", then "and N more"; empty when there are none or no spaces. Keeps $sql_output.
rows_outside_spaces=''
read_rows_outside_spaces() {
    local saved=$sql_output line name table id space count=0
    local -A spaces=()
    run_sql "$work_dir/rows-and-spaces.sql" quiet || fail "Reading the spaces of the rows failed; see the sqlcmd output above."
    while IFS= read -r line; do
        if [[ $line == 'space_id|'?* ]]; then
            id=${line#space_id|}
            spaces[${id,,}]=1
        fi
    done <<<"$sql_output"
    rows_outside_spaces=''
    while IFS='|' read -r name table id space; do
        [[ $name == row_space ]] || continue
        if [[ -n $space && -n ${spaces[${space,,}]+set} ]]; then continue; fi
        count=$((count + 1))
        if ((count <= 20)); then rows_outside_spaces+="$table $id ($space), "; fi
    done <<<"$sql_output"
    sql_output=$saved
    rows_outside_spaces=${rows_outside_spaces%, }
    if ((count > 20)); then rows_outside_spaces+=" and $((count - 20)) more"; fi
}
# report: the counts and the rows outside spaces as facts.
report() {
    local name
    read_rows_outside_spaces
    fact rows_outside_spaces "$rows_outside_spaces"
    for name in server_nodes spaces projects machines machines_enabled workers workers_enabled triggers \
        triggers_enabled subscriptions subscriptions_enabled tasks_pending extensions_to_remove installation_id \
        server_uri production_installation_id production_server_uri; do
        fact "$name" "$(sql_value "$name")"
    done
}
# still_enabled OPTION_VALUE COUNT_NAME WHAT: notes a problem when the option is on and the count is not 0.
problems=()
still_enabled() {
    local count
    count=$(sql_value "$2")
    if [[ $1 == true && -n $count && $count != 0 ]]; then problems+=("$count $3"); fi
}

say "Reading the restored database."
run_sql "$work_dir/verify-quarantine.sql" || fail "Reading the restored database failed; run the restore step first."
[[ $(sql_value restore_sha256) == "$backup_sha256" ]] || fail "The database was not restored from this backup by octoprov; run the restore step first."
if recorded; then
    report
    finish false "The database is already quarantined for this backup with these options."
fi
installation_id_before=$(sql_value installation_id)

say "Quarantining the database (one transaction)."
run_sql "$work_dir/quarantine.sql" || fail "The quarantine SQL failed and was rolled back; see the sqlcmd output above."
run_sql "$work_dir/verify-quarantine.sql" || fail "Reading the quarantined database failed; see the sqlcmd output above."
recorded || fail "The quarantine record was not written; see the sqlcmd output above."
still_enabled "$quarantine_server_nodes" server_nodes "server node rows remain"
still_enabled "$quarantine_targets" machines_enabled "targets are enabled"
still_enabled "$quarantine_workers" workers_enabled "workers are enabled"
still_enabled "$quarantine_triggers" triggers_enabled "triggers are enabled"
still_enabled "$quarantine_subscriptions" subscriptions_enabled "subscriptions are enabled"
still_enabled "$quarantine_queued_tasks" tasks_pending "tasks are queued or executing"
still_enabled "$quarantine_extensions" extensions_to_remove "extension settings remain"
if [[ $quarantine_installation_id == true && -n $installation_id_before && $(sql_value installation_id) == "$installation_id_before" ]]; then
    problems+=("the Installation ID is unchanged")
fi
if [[ $quarantine_server_uri == true && -n $(sql_value server_uri) && $(sql_value server_uri) != "$server_uri" ]]; then
    problems+=("the Server URI is not the clone's")
fi
if ((${#problems[@]})); then
    joined=$(printf '%s, ' "${problems[@]}")
    fail "The quarantine did not take: ${joined%, }."
fi
report
finish true "Quarantined the database: targets, workers, triggers and subscriptions are disabled as configured."
