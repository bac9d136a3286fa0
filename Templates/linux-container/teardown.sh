#!/usr/bin/env bash
# octoprov step `teardown` on a linux-container host: tears the instance's container and database down so that it can be provisioned again.
# Rendered by octoprov from Templates/linux-container/teardown.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=teardown

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Tears the instance down so that provision builds it again (octoprov rebuild): removes the container
# (and one an interrupted upgrade kept as <container_name>-before-upgrade), drops the database
# (sql/drop-database.sql), and removes the container's env files and the markers of the admin and
# drain steps. The host folders mounted as the container's volumes (Packages, Artifacts, TaskLogs,
# EventExports, Imports, cache) and what octoprov uploaded to the work folder (the backup, the image
# archive) stay, so that the next provisioning copies only what changed.
read_sql_secret
require_sql_tools
require_sql database-exists.sql
require_sql drop-database.sql
# Write-ahead: forget first which provisioning and upgrade steps this host finished, so that if this teardown
# stops half-way, the next provision runs every step again instead of trusting a half-torn host.
rm -f -- "$work_dir/octoprov-steps.json" "$work_dir/octoprov-upgrade-steps.json"
changed=false
if command -v docker >/dev/null 2>&1; then
    require_docker
    for name in "$container_name" "$container_name-before-upgrade"; do
        if docker container inspect -- "$name" >/dev/null 2>&1 </dev/null; then
            say "Removing the container $name."
            docker rm --force -- "$name" </dev/null >/dev/null || fail "docker rm failed; see its output above."
            changed=true
        fi
    done
fi
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
if [[ $(sql_value database_exists) != 0 ]]; then
    say "Dropping the database."
    run_sql "$work_dir/drop-database.sql" || fail "Dropping the database failed; see the sqlcmd output above."
    run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
    [[ $(sql_value database_exists) == 0 ]] || fail "The database still exists after DROP DATABASE."
    changed=true
fi
for file in "$env_file" "$staged_secrets" "$work_dir/octopus-run.env" "$work_dir/octoprov-admin.state" \
    "$work_dir/octoprov-upgrade-drained"; do
    if [[ -e $file || -L $file ]]; then
        rm -f -- "$file"
        changed=true
    fi
done
if [[ $changed == true ]]; then
    finish true "Removed the container and dropped the database; the volumes' host folders and the work folder's uploads stay."
fi
finish false "There is no container or database to tear down."
