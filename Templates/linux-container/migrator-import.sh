#!/usr/bin/env bash
# octoprov step `migrator-import` on a linux-container host: imports a partial export with Octopus.Migrator in the container (before 2021.1).
# Rendered by octoprov from Templates/linux-container/migrator-import.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=migrator-import

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly export_directory={{ export_directory }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Test-instance flow before 2021.1: copies the partial export into the running container and imports
# it with Octopus.Migrator import. The export password arrives on stdin and reaches the Migrator only
# as its documented --password flag. octoprov replaces the export folder with each new export; projects
# already on the instance are skipped by the Migrator, so the step is `changed` only when it says it
# imported one.
secret_export_password=''
read_secrets export_password
[[ -n $secret_export_password ]] || fail "The export_password secret was not given on standard input."
require_docker
[[ $(container_field .State.Status) == running ]] || fail "The container is not running; the start step comes before migrator-import."
[[ -f "$export_directory/metadata.json" ]] || fail "The export folder has no metadata.json; upload the partial export first."
docker exec -- "$container_name" test -x /Octopus/Octopus.Migrator </dev/null ||
    fail "The container image has no Octopus.Migrator; use Export/Import Projects (Octopus 2021.1 or later) instead."
say "Copying the partial export into the container."
docker exec -- "$container_name" rm -rf /tmp/octoprov-import </dev/null || true
docker cp -- "$export_directory/." "$container_name:/tmp/octoprov-import" </dev/null || fail "docker cp failed; see its output above."
say "Importing the partial export."
status=0
output=$(docker exec -- "$container_name" /Octopus/Octopus.Migrator import --instance=OctopusServer \
    --directory=/tmp/octoprov-import "--password=$secret_export_password" </dev/null 2>&1) || status=$?
if [[ -n $output ]]; then printf '%s\n' "$output"; fi
docker exec -- "$container_name" rm -rf /tmp/octoprov-import </dev/null || true
((status == 0)) || fail "Octopus.Migrator import failed in the container; see its output above."
{{> _linux/migrator-import-summary.sh }}
