#!/usr/bin/env bash
# octoprov step `create-instance` on a standin host: creates the Octopus instance.
# Rendered by octoprov from Templates/standin/create-instance.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=create-instance

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly node_name={{ node_name }}
readonly home_dir={{ home_dir }}
readonly config_path={{ config_path }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Creates the Octopus instance (create-instance with its config file, home folder and the clone's
# node name) unless list-instances already shows it.
require_standin
fact instance_name "$instance_name"
if instance_exists; then
    config=$(show_configuration)
    home=$(json_value Octopus.Home "$config")
    node=$(json_value Octopus.Storage.NodeName "$config")
    fact home_dir "$home"
    fact node_name "$node"
    if [[ -n $node && $node != "$node_name" ]]; then
        fail "The instance already exists with another node name; octoprov does not rename it, so delete the instance or change node_name."
    fi
    finish false "The instance already exists."
fi
mkdir -p -- "$home_dir"
if [[ $config_path == */* ]]; then mkdir -p -- "${config_path%/*}"; fi
say "Creating the instance."
octopus create-instance "--instance=$instance_name" "--config=$config_path" "--home=$home_dir" "--serverNodeName=$node_name"
instance_exists || fail "create-instance succeeded but list-instances does not show the instance."
fact home_dir "$home_dir"
fact node_name "$node_name"
finish true "Created the instance."
