#!/usr/bin/env bash
# octoprov step `migrator-export` on a standin SOURCE host: writes a partial export of the chosen projects with Octopus.Migrator (before 2021.1).
# Rendered by octoprov from Templates/standin/migrator-export.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=migrator-export

# The values octoprov rendered for the source host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Test-instance flow before 2021.1, on the source host: exports the chosen projects with Octopus.Migrator
# partial-export (--ignore-history --ignore-deployments --ignore-machines) into a fresh private folder
# under work_dir, which octoprov downloads and then removes. Standard input carries the export password
# (`export_password=BASE64`) and one `project=BASE64` line per project. The password reaches the
# stand-in's Migrator only in OCTOPUS_MIGRATOR_PASSWORD, never in a process's arguments.
require_standin
migrator="$install_dir/current/bin/Octopus.Migrator"
[[ -x $migrator ]] || fail "This stand-in package has no Octopus.Migrator; use a source at Octopus 2021.1 or later (Export/Import Projects) instead."
secret_export_password=''
project_flags=()
while IFS= read -r line || [[ -n $line ]]; do
    [[ -n $line ]] || continue
    name=${line%%=*}
    value=${line#*=}
    [[ $name == export_password || $name == project ]] || continue
    [[ $value =~ ^[A-Za-z0-9+/]*={0,2}$ ]] || fail "The value $name on standard input is not base64."
    decoded=$(printf '%s' "$value" | base64 -d) || fail "The value $name on standard input is not base64."
    if [[ $name == export_password ]]; then
        secret_export_password=$decoded
    else
        project_flags+=("--project=$decoded")
    fi
done
[[ -n $secret_export_password ]] || fail "The export_password secret was not given on standard input."
((${#project_flags[@]} > 0)) || fail "No project was given on standard input; octoprov sends the selected projects."
instance_exists || fail "The source host has no Octopus instance of the source host's instance_name; set its instance_name, install_dir and sql_data_root vars to the source server's."
mkdir -p -- "$work_dir"
chmod 700 -- "$work_dir"
directory=$(mktemp -d -- "$work_dir/migrator-export.XXXXXXXX")
say "Exporting ${#project_flags[@]} project(s) with Octopus.Migrator partial-export."
status=0
OCTOPUS_MIGRATOR_PASSWORD=$secret_export_password "$migrator" partial-export "--instance=$instance_name" \
    "${project_flags[@]}" "--directory=$directory" --ignore-history --ignore-deployments --ignore-machines </dev/null ||
    status=$?
if ((status != 0)); then
    rm -rf -- "$directory"
    fail "Octopus.Migrator partial-export failed with exit status $status; see its output above."
fi
[[ -f "$directory/metadata.json" ]] || fail "Octopus.Migrator partial-export wrote no metadata.json; see its output above."
fact export_directory "$directory"
finish true "Exported ${#project_flags[@]} project(s) with Octopus.Migrator partial-export."
