#!/usr/bin/env bash
# octoprov step `migrator-import` on a standin host: imports a partial export with Octopus.Migrator (before 2021.1).
# Rendered by octoprov from Templates/standin/migrator-import.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=migrator-import

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly export_directory={{ export_directory }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Test-instance flow before 2021.1: imports a partial export with Octopus.Migrator import. The
# export password arrives on stdin and reaches the stand-in's Migrator only in OCTOPUS_MIGRATOR_PASSWORD
# (never in a process's arguments). octoprov replaces the export folder with each new export; projects
# already on the instance are skipped by the Migrator, so the step is `changed` only when it says it
# imported one.
require_standin
secret_export_password=''
read_secrets export_password
[[ -n $secret_export_password ]] || fail "The export_password secret was not given on standard input."
instance_exists || fail "The instance does not exist; the create-instance step comes before migrator-import."
migrator="$install_dir/current/bin/Octopus.Migrator"
[[ -x $migrator ]] || fail "This stand-in package has no Octopus.Migrator; use Export/Import Projects (Octopus 2021.1 or later) instead."
[[ -f "$export_directory/metadata.json" ]] || fail "The export folder has no metadata.json; upload the partial export first."
say "Importing the partial export."
status=0
output=$(OCTOPUS_MIGRATOR_PASSWORD=$secret_export_password "$migrator" import "--instance=$instance_name" \
    "--directory=$export_directory" </dev/null 2>&1) || status=$?
if [[ -n $output ]]; then printf '%s\n' "$output"; fi
((status == 0)) || fail "Octopus.Migrator import failed with exit status $status; see its output above."
{{> _linux/migrator-import-summary.sh }}
