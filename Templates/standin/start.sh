#!/usr/bin/env bash
# octoprov step `start` on a standin host: installs and starts the service and waits until it answers.
# Rendered by octoprov from Templates/standin/start.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=start

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly mode={{ mode }}
readonly backup_sha256={{ backup_sha256 }}
readonly web_listen_prefix={{ web_listen_prefix }}
readonly home_dir={{ home_dir }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Installs and starts the instance's service (service --install --reconfigure --start), then waits
# until it answers /api/octopusservernodes/ping. A clone only starts on a database whose quarantine
# record is for this backup.
require_standin
instance_exists || fail "The instance does not exist; the create-instance step comes before start."
command -v curl >/dev/null 2>&1 || fail "curl is not installed on the host, so the server's answer cannot be checked."
{{> _linux/clone-check-quarantine.sh }}
base_url=${web_listen_prefix%/}
base_url=${base_url/:\/\/+/:\/\/localhost}
base_url=${base_url/:\/\/\*/:\/\/localhost}
ping_url="$base_url/api/octopusservernodes/ping"
fact ping_url "$ping_url"
{{> _linux/answers.sh }}
# service_running: whether this instance's server runs (its PID file names a live process): another
# server answering on the same address is not this one.
service_running() {
    local pid
    pid=$(cat -- "$home_dir/standin.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}
if service_running && answers; then
    finish false "Octopus Server is already running and answers."
fi
say "Starting the instance's service."
octopus service "--instance=$instance_name" --install --reconfigure --start
for ((waited = 0; waited < 300; waited += 2)); do
    if answers; then finish true "Started Octopus Server; it answers."; fi
    sleep 2
done
fail "Octopus Server did not answer its ping within 300 seconds after starting."
