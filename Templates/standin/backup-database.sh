#!/usr/bin/env bash
# octoprov step `backup-database` on a standin host: backs up the database before the upgrade, unless that backup is already there.
# Rendered by octoprov from Templates/standin/backup-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=backup-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly database={{ database }}
readonly version={{ version }}
readonly from_version={{ from_version }}
readonly upgrade_backup_file={{ upgrade_backup_file }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Backs up the database at from_version into upgrade_backup_file (sql/backup-database.sql) before
# anything changes, unless the database is already at the target or the file already holds this
# database's backup at from_version: RESTORE HEADERONLY (sql/backup-header.sql) shows a set named
# octoprov-upgrade-<from_version>, described with the database's Installation ID, of this database.
# same_version A B: whether two dotted versions are equal number by number (2023.3.13026 = 2023.3.13026.0).
same_version() {
    [[ -n $1 && -n $2 ]] || return 1
    version_at_least "$1" "$2" && version_at_least "$2" "$1"
}
# backed_up: whether the backup file holds this database's backup set at from_version.
backed_up() {
    local line
    [[ -f $upgrade_backup_file ]] || return 1
    run_sql "$work_dir/backup-header.sql" >/dev/null || return 1
    while IFS= read -r line; do
        if [[ $line == "octoprov-upgrade-$from_version|$installation_id|"* && $line == *"|$database|"* ]]; then
            return 0
        fi
    done <<<"$sql_output"
    return 1
}
check_version "$version"
check_version "$from_version"
require_standin
require_sql database-version.sql
require_sql backup-header.sql
require_sql backup-database.sql
fact upgrade_backup_file "$upgrade_backup_file"
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
installation_id=$(sql_value installation_id)
fact database_version "$database_version"
if same_version "$database_version" "$version"; then
    finish false "The database is already at $version; it needs no backup before the upgrade."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov backs up only the database it provisioned."
if backed_up; then
    finish false "The work folder already holds this database's backup at $from_version."
fi
say "Backing up the database at $from_version."
run_sql "$work_dir/backup-database.sql" || fail "BACKUP DATABASE failed; see the sqlcmd output above."
backed_up || fail "RESTORE HEADERONLY does not show this database's backup at $from_version in the new backup file."
fact upgrade_backup_bytes "$(stat -c %s -- "$upgrade_backup_file")"
finish true "Backed up the database at $from_version to the work folder."
