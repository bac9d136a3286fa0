[[ -n $data_dir ]] || fail "data_dir is empty; set it to the SQL Server data folder for the restored files."
mkdir -p -- "$data_dir"
stem=${database//[^A-Za-z0-9._-]/_}
data_file="$data_dir/$stem.mdf"
log_file="$data_dir/${stem}_log.ldf"
[[ ! -e $data_file && ! -e $log_file ]] || fail "The data folder already holds files named for this database; octoprov does not overwrite them."

{
    printf -- '-- Written by the restore step on the host: the names only known at run time.\n'
    printf 'DECLARE @data_logical NVARCHAR(128) = %s, @log_logical NVARCHAR(128) = %s;\n' \
        "$(tsql_literal "$data_logical")" "$(tsql_literal "$log_logical")"
    printf 'DECLARE @data_file NVARCHAR(4000) = %s, @log_file NVARCHAR(4000) = %s;\n' \
        "$(tsql_literal "$data_file")" "$(tsql_literal "$log_file")"
    cat -- "$work_dir/restore.sql"
} >"$run_file"
say "Restoring the backup as the new database."
if ! run_sql "$run_file"; then
    if damaged_backup; then
        fail "The backup is damaged or incomplete (RESTORE DATABASE cannot read it; see the sqlcmd output above); copy a complete backup to the inventory's backup path, then run provision again."
    fi
    fail "RESTORE DATABASE failed; see the sqlcmd output above."
fi
run_sql "$work_dir/verify-quarantine.sql" || fail "Reading the restored database failed; see the sqlcmd output above."
[[ $(sql_value restore_sha256) == "$backup_sha256" ]] || fail "The restored database has no octoprov restore record; see the sqlcmd output above."
fact data_file "$data_file"
fact log_file "$log_file"
fact octopus_version "$(sql_value octopus_version)"
check_backup_version "$(sql_value octopus_version)"
finish true "Restored the backup as a new database."
