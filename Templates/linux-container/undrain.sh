#!/usr/bin/env bash
# octoprov step `undrain` on a linux-container host: lets the node take tasks again if the drain step drained it.
# Rendered by octoprov from Templates/linux-container/undrain.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=undrain

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly version={{ version }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Once the new version runs: lets the node take tasks again (docker exec … node --drain=false) when
# the drain step drained it (its marker in the work folder). A node that was draining before the
# upgrade stays draining; a node that is not draining is left alone.
readonly marker="$work_dir/octoprov-upgrade-drained"
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
read_sql_secret
require_docker
require_sql_tools
{{> _linux/undrain-check-version.sh }}
if node_draining; then
    [[ $(container_field .State.Status) == running ]] || fail "The container is not running; the start step comes before undrain."
    say "Ending the node's drain."
    docker exec -- "$container_name" /Octopus/Octopus.Server node --instance=OctopusServer --drain=false --console \
        </dev/null || fail "Octopus.Server node --drain=false failed in the container; see its output above."
{{> _linux/undrain-confirm.sh }}
fi
rm -f -- "$marker"
fact node_draining false
finish false "The node is not draining."
