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
{{> _linux/same-version.sh }}
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
{{> _linux/back-up-database.sh }}
fact upgrade_backup_bytes "$(stat -c %s -- "$upgrade_backup_file")"
finish true "Backed up the database at $from_version to the work folder."
