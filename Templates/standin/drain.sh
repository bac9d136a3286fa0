#!/usr/bin/env bash
# octoprov step `drain` on a standin host: drains the node and stops the old version's service before the new one is installed.
# Rendered by octoprov from Templates/standin/drain.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=drain

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly version={{ version }}
readonly from_version={{ from_version }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# While the old version still runs: drains the node (node --drain=true --wait, so that running tasks
# can finish and no new ones start) and stops the service, so that the new version is installed
# over a stopped server. Skipped when the database is already at the target or the service is not
# running. A marker in the work folder records that octoprov drained the node, so that undrain
# restores the state the node had before: a node that was already draining stays draining.
readonly drain_wait=300
readonly marker="$work_dir/octoprov-upgrade-drained"
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
{{> standin/_service-running.sh }}
require_standin
instance_exists || fail "The instance does not exist on the host; provision it before upgrading it."
{{> _linux/drain-check-version.sh }}
if ! service_running; then
    if node_draining; then fact node_draining true; else fact node_draining false; fi
    finish false "The service is not running; there is nothing to drain or stop."
fi
if node_draining; then
    say "The node is already draining."
else
    printf 'octoprov drained the node before the upgrade from %s to %s.\n' "$from_version" "$version" >"$marker"
    say "Draining the node (waiting up to $drain_wait seconds for its tasks)."
    octopus node "--instance=$instance_name" --drain=true "--wait=$drain_wait"
fi
fact node_draining true
say "Stopping the service."
octopus service "--instance=$instance_name" --stop
if service_running; then fail "The service is still running after service --stop."; fi
finish true "Drained the node and stopped the service."
