#!/usr/bin/env bash
# octoprov step `teardown` on a standin host: tears the instance and its database down so that it can be provisioned again.
# Rendered by octoprov from Templates/standin/teardown.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=teardown

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly config_path={{ config_path }}
readonly connection_string={{ connection_string }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Tears the instance down so that provision builds it again (octoprov rebuild): stops and uninstalls
# the service, deletes its database (database --delete while the instance exists and uses this
# database, else sql/drop-database.sql), deletes the instance, its config file and the markers of
# the admin and drain steps. The stand-in, the home and server folders (Packages, Artifacts,
# TaskLogs, EventExports, Imports) and what octoprov uploaded to the work folder (the backup, the
# packages) stay, so that the next provisioning copies only what changed.
# Write-ahead: forget first which provisioning and upgrade steps this host finished, so that if this teardown
# stops half-way, the next provision runs every step again instead of trusting a half-torn host.
rm -f -- "$work_dir/octoprov-steps.json" "$work_dir/octoprov-upgrade-steps.json"
changed=false
if [[ -x $octopus_server && -x $sqlcmd_program ]]; then
    if instance_exists; then
        say "Stopping and uninstalling the service."
        octopus service "--instance=$instance_name" --stop --uninstall
        configuration=$(show_configuration)
        if [[ $(json_value Octopus.Storage.ExternalDatabaseConnectionString "$configuration") == "$connection_string" ]]; then
            say "Deleting the instance's database."
            octopus database "--instance=$instance_name" --delete
        fi
        say "Deleting the instance."
        octopus delete-instance "--instance=$instance_name"
        changed=true
    fi
    if "$sqlcmd_program" -S "$sql_server" -Q 'SET NOCOUNT ON' >/dev/null 2>&1 </dev/null; then
        require_sql database-exists.sql
        require_sql drop-database.sql
        run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
        if [[ $(sql_value database_exists) != 0 ]]; then
            say "Dropping the database."
            run_sql "$work_dir/drop-database.sql" || fail "Dropping the database failed; see the sqlcmd output above."
            run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
            [[ $(sql_value database_exists) == 0 ]] || fail "The database still exists after DROP DATABASE."
            changed=true
        fi
    fi
fi
for file in "$config_path" "$home_dir/octoprov-admin.state" "$work_dir/octoprov-upgrade-drained"; do
    if [[ -e $file || -L $file ]]; then
        rm -f -- "$file"
        changed=true
    fi
done
if [[ $changed == true ]]; then
    finish true "Tore the instance and its database down; the server folders and the work folder's uploads stay."
fi
finish false "There is no instance or database to tear down."
