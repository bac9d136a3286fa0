#!/usr/bin/env bash
# octoprov step `set-paths` on a standin host: creates the server folders and points the instance at them.
# Rendered by octoprov from Templates/standin/set-paths.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=set-paths

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly version={{ version }}
readonly folders_packages={{ folders_packages }}
readonly folders_artifacts={{ folders_artifacts }}
readonly folders_task_logs={{ folders_task_logs }}
readonly folders_imports={{ folders_imports }}
readonly folders_event_exports={{ folders_event_exports }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Creates the instance's folders and points the instance at them (path); the restored database still
# holds production's paths. --imports exists from 2021.1 and --eventExports from 2023.3.
require_standin
instance_exists || fail "The instance does not exist; the create-instance step comes before set-paths."
changed=false
config=$(show_configuration)
flags=()
paths_match=true
# folder FLAG KEY PATH: creates PATH, adds --FLAG=PATH, and notes whether show-configuration's KEY has it.
folder() {
    [[ -n $3 ]] || fail "The folder for --$1 is empty."
    if [[ ! -d $3 ]]; then
        mkdir -p -- "$3"
        changed=true
    fi
    flags+=("--$1=$3")
    if [[ $(json_value "$2" "$config") != "$3" ]]; then paths_match=false; fi
    fact "folder_$1" "$3"
}
folder nugetRepository Octopus.Folders.PackagesDirectory "$folders_packages"
folder artifacts Octopus.Folders.ArtifactsDirectory "$folders_artifacts"
folder taskLogs Octopus.Folders.LogDirectory "$folders_task_logs"
if version_at_least "$version" 2021.1; then folder imports Octopus.Folders.ImportsDirectory "$folders_imports"; fi
if version_at_least "$version" 2023.3; then folder eventExports Octopus.Folders.EventExportsDirectory "$folders_event_exports"; fi
if [[ $paths_match == true ]]; then
    if [[ $changed == true ]]; then finish true "Created the missing folders; the instance already uses them."; fi
    finish false "The instance already uses these folders."
fi
say "Pointing the instance at its folders."
octopus path "--instance=$instance_name" "${flags[@]}"
finish true "Pointed the instance at its own folders."
