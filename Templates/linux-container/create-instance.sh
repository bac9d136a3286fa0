#!/usr/bin/env bash
# octoprov step `create-instance` on a linux-container host: writes the container's node name into its env file.
# Rendered by octoprov from Templates/linux-container/create-instance.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=create-instance

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly instance_name={{ instance_name }}
readonly node_name={{ node_name }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# The container creates its instance itself (always named OctopusServer) when start runs it; this step
# writes the node name into the container's env file (OCTOPUS_SERVER_NODE_NAME).
require_docker
fact container_name "$container_name"
fact node_name "$node_name"
if [[ $instance_name != OctopusServer ]]; then
    say "The container's instance is always OctopusServer; instance_name is not used on this platform."
fi
set_env OCTOPUS_SERVER_NODE_NAME "$node_name"
if [[ $env_changed == true ]]; then finish true "Wrote the node name into the container's env file."; fi
finish false "The container's env file already has this node name."
