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
