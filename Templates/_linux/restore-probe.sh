# damaged_backup: whether the last sqlcmd output is SQL Server's answer to a damaged or incomplete backup
# (3241 media family incorrectly formed, 3242 not a valid backup set, 3203 read failed, 3183/3189 checksum).
damaged_backup() {
    local number
    for number in 3241 3242 3203 3183 3189; do
        if [[ $sql_output == *"Msg $number,"* ]]; then return 0; fi
    done
    return 1
}
fact database "$database"

say "Checking whether the database exists on $sql_server."
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
if [[ $(sql_value database_exists) != 0 ]]; then
    run_sql "$work_dir/verify-quarantine.sql" || fail "Reading the existing database failed; see the sqlcmd output above."
    if [[ $(sql_value restore_sha256) != "$backup_sha256" ]]; then
        fail "The database already exists and was not restored by octoprov from this backup; octoprov never overwrites a database, so drop it or choose another database name."
    fi
    fact octopus_version "$(sql_value octopus_version)"
    check_backup_version "$(sql_value octopus_version)"
    finish false "The database was already restored from this backup."
fi

[[ -f $backup_file ]] || fail "The backup file is not on the host; the upload-backup step puts it in the work folder."
say "Reading the backup's file list (RESTORE FILELISTONLY)."
if ! run_sql "$work_dir/restore-filelist.sql"; then
    if [[ $sql_output == *"Access is denied"* || $sql_output == *"Operating system error 5"* ]]; then
        fail "SQL Server cannot read the backup file; let its service account read the work folder, then run the step again."
    fi
    if damaged_backup; then
        fail "The backup is damaged or incomplete (RESTORE FILELISTONLY cannot read it; see the sqlcmd output above); copy a complete backup to the inventory's backup path, then run provision again."
    fi
    fail "RESTORE FILELISTONLY failed; see the sqlcmd output above."
fi
data_logical='' log_logical='' data_files=0 log_files=0 other_files=0
while IFS='|' read -r logical physical kind _; do
    [[ -n ${physical:-} && -n ${kind:-} ]] || continue
    case $kind in
        D)
            data_files=$((data_files + 1))
            data_logical=$logical
            ;;
        L)
            log_files=$((log_files + 1))
            log_logical=$logical
            ;;
        *) other_files=$((other_files + 1)) ;;
    esac
done <<<"$sql_output"
if ((data_files != 1 || log_files != 1 || other_files != 0)); then
    fail "The backup has $data_files data, $log_files log and $other_files other files; octoprov restores backups with one data file and one log file, as Octopus creates them."
fi
for name in "$data_logical" "$log_logical"; do
    [[ $name != *[[:cntrl:]]* ]] || fail "A logical file name in the backup has a control character; octoprov does not restore it."
done
