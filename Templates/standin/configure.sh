#!/usr/bin/env bash
# octoprov step `configure` on a standin host: sets the listen prefix and the comms port.
# Rendered by octoprov from Templates/standin/configure.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=configure

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly web_listen_prefix={{ web_listen_prefix }}
readonly comms_port={{ comms_port }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Sets the web listen prefix and the comms port (configure), with SSL not forced, unless
# show-configuration already has them.
require_standin
instance_exists || fail "The instance does not exist; the create-instance step comes before configure."
[[ $comms_port =~ ^[0-9]+$ ]] || fail "comms_port is not a port number."
config=$(show_configuration)
prefixes=$(json_value Octopus.WebPortal.ListenPrefixes "$config")
port=$(json_value Octopus.Communications.ServicesPort "$config")
force_ssl=$(lower "$(json_value Octopus.WebPortal.ForceSsl "$config")")
fact web_listen_prefix "$web_listen_prefix"
fact comms_port "$comms_port"
if [[ $prefixes == "$web_listen_prefix" && $port == "$comms_port" && $force_ssl == false ]]; then
    finish false "The instance already listens on these prefixes and port."
fi
say "Configuring the listen prefix and the comms port."
octopus configure "--instance=$instance_name" "--webListenPrefixes=$web_listen_prefix" "--commsListenPort=$comms_port" --webForceSSL=False
finish true "Configured the listen prefix and the comms port."
