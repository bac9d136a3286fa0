#!/usr/bin/env bash
# octoprov step `undrain` on a standin host: lets the node take tasks again if the drain step drained it.
# Rendered by octoprov from Templates/standin/undrain.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=undrain

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly version={{ version }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Once the new version runs: lets the node take tasks again (node --drain=false) when the drain step
# drained it (its marker in the work folder). A node that was draining before the upgrade stays
# draining; a node that is not draining is left alone.
readonly marker="$work_dir/octoprov-upgrade-drained"
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
require_standin
instance_exists || fail "The instance does not exist on the host; provision it before upgrading it."
{{> _linux/undrain-check-version.sh }}
if node_draining; then
    say "Ending the node's drain."
    octopus node "--instance=$instance_name" --drain=false
{{> _linux/undrain-confirm.sh }}
fi
rm -f -- "$marker"
fact node_draining false
finish false "The node is not draining."
