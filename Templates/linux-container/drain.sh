#!/usr/bin/env bash
# octoprov step `drain` on a linux-container host: drains the node and stops the old version's container before the new image is loaded.
# Rendered by octoprov from Templates/linux-container/drain.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=drain

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly version={{ version }}
readonly from_version={{ from_version }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# While the old version still runs: drains the node (docker exec … node --drain=true --wait, so that
# running tasks can finish and no new ones start) and stops the container. Skipped when the database
# is already at the target or the container is not running. A marker in the work folder records that
# octoprov drained the node, so that undrain restores the state the node had before: a node that was
# already draining stays draining.
readonly drain_wait=300
readonly marker="$work_dir/octoprov-upgrade-drained"
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
read_sql_secret
require_docker
require_sql_tools
{{> _linux/drain-check-version.sh }}
state=$(container_field .State.Status)
fact container_state "$state"
if [[ $state != running ]]; then
    if node_draining; then fact node_draining true; else fact node_draining false; fi
    finish false "The container is not running; there is nothing to drain or stop."
fi
if node_draining; then
    say "The node is already draining."
else
    printf 'octoprov drained the node before the upgrade from %s to %s.\n' "$from_version" "$version" >"$marker"
    say "Draining the node (waiting up to $drain_wait seconds for its tasks)."
    docker exec -- "$container_name" /Octopus/Octopus.Server node --instance=OctopusServer --drain=true \
        "--wait=$drain_wait" --console </dev/null || fail "Octopus.Server node --drain=true failed in the container; see its output above."
fi
fact node_draining true
say "Stopping the container."
docker stop -- "$container_name" </dev/null >/dev/null || fail "docker stop failed; see its output above."
fact container_state "$(container_field .State.Status)"
finish true "Drained the node and stopped the container."
