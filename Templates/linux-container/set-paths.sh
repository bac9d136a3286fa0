#!/usr/bin/env bash
# octoprov step `set-paths` on a linux-container host: creates the host folders mounted as the container's volumes.
# Rendered by octoprov from Templates/linux-container/set-paths.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=set-paths

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly mode={{ mode }}
readonly home_dir={{ home_dir }}
readonly folders_packages={{ folders_packages }}
readonly folders_artifacts={{ folders_artifacts }}
readonly folders_task_logs={{ folders_task_logs }}
readonly folders_event_exports={{ folders_event_exports }}
readonly folders_imports={{ folders_imports }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# The container points Octopus at its volumes itself at start-up (path --nugetRepository /repository
# …); this step creates the host folders start mounts there. /import is read by the container's
# start-up as a Migrator import when it has a metadata.json, which a clone must not do.
changed=false
for folder in "$folders_packages" "$folders_artifacts" "$folders_task_logs" "$folders_event_exports" \
    "$folders_imports" "$home_dir/cache"; do
    [[ -n $folder && $folder != /cache ]] || fail "A server folder is empty; set the folders_* values (or home_dir)."
    if [[ ! -d $folder ]]; then
        mkdir -p -- "$folder"
        changed=true
    fi
done
if [[ $mode == clone && -e "$folders_imports/metadata.json" ]]; then
    fail "The Imports folder holds a metadata.json, which the container would import at start-up; remove it from the clone's copy."
fi
fact folder_repository "$folders_packages"
fact folder_artifacts "$folders_artifacts"
fact folder_task_logs "$folders_task_logs"
fact folder_event_exports "$folders_event_exports"
fact folder_import "$folders_imports"
fact folder_cache "$home_dir/cache"
if [[ $changed == true ]]; then finish true "Created the host folders the container mounts."; fi
finish false "The host folders the container mounts exist."
