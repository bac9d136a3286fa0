#!/usr/bin/env bash
# octoprov step `restore` on a standin host: restores the uploaded backup as a new database.
# Rendered by octoprov from Templates/standin/restore.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=restore

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly database={{ database }}
readonly backup_file={{ backup_file }}
readonly backup_sha256={{ backup_sha256 }}
readonly data_dir={{ data_dir }}
readonly version={{ version }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Restores the uploaded backup as a new database (never over an existing one), after RESTORE
# FILELISTONLY names its files, and checks that the backup comes from the pinned Octopus version.
read_sql_secret
require_sql_tools
[[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
for file in database-exists.sql restore-filelist.sql restore.sql verify-quarantine.sql; do require_sql "$file"; done

# check_backup_version FOUND: fails unless FOUND (the backup's Octopus version; empty = unknown) is the pin.
check_backup_version() {
    if [[ -n $1 && $(version_core "$1") != "$(version_core "$version")" ]]; then
        fail "The backup comes from Octopus $1 but the pinned version is $version; restore it onto the same version (pin $1), then upgrade the clone."
    fi
}
# tsql_literal TEXT: TEXT as an N'…' literal (quotes doubled; the caller refused control characters).
tsql_literal() { printf "N'%s'" "${1//\'/\'\'}"; }
run_file="$work_dir/restore-run.sql"
header_file="$work_dir/restore-header.sql"
cleanup() { rm -f -- "$run_file" "$header_file"; }
trap cleanup EXIT
# header_octopus_version: the OctopusVersion column of the backup's first set in RESTORE HEADERONLY, which
# the stand-in adds so that a backup's Octopus version is known before it is restored. Empty where SQL
# Server has no such column or the header cannot be read: the restored database is checked then.
header_octopus_version() {
    local output header row index
    local -a names values
    if [[ $backup_file == *[[:cntrl:]]* ]]; then return 0; fi
    printf 'SET NOCOUNT ON;\nRESTORE HEADERONLY FROM DISK = %s;\n' "$(tsql_literal "$backup_file")" >"$header_file"
    output=$("$sqlcmd_program" -x -b -S "$sql_server" -W -s '|' -i "$header_file" 2>/dev/null </dev/null) || return 0
    header='' row=''
    {
        IFS= read -r header || true
        IFS= read -r _ || true
        IFS= read -r row || true
    } <<<"$output"
    IFS='|' read -r -a names <<<"$header" || true
    IFS='|' read -r -a values <<<"$row" || true
    for ((index = 0; index < ${#names[@]}; index++)); do
        if [[ ${names[index]} == OctopusVersion ]]; then
            if [[ -n ${values[index]:-} && ${values[index]} != NULL ]]; then printf '%s' "${values[index]}"; fi
            return 0
        fi
    done
    return 0
}
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

say "Reading the backup's header (RESTORE HEADERONLY)."
check_backup_version "$(header_octopus_version)"

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
