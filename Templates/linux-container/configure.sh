#!/usr/bin/env bash
# octoprov step `configure` on a linux-container host: checks the ports the container will publish.
# Rendered by octoprov from Templates/linux-container/configure.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=configure

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly web_listen_prefix={{ web_listen_prefix }}
readonly web_port={{ web_port }}
readonly comms_port={{ comms_port }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# The container listens on 8080 (web) and 10943 (Tentacles) inside; start publishes them on web_port
# and comms_port. This step checks the ports and, before the container exists, that they are free.
require_docker
[[ $web_port =~ ^[0-9]+$ && $comms_port =~ ^[0-9]+$ ]] || fail "web_port and comms_port must be port numbers."
fact web_listen_prefix "$web_listen_prefix"
fact web_port "$web_port"
fact comms_port "$comms_port"
if [[ -z $(container_field .Id) ]] && command -v ss >/dev/null 2>&1; then
    for port in "$web_port" "$comms_port"; do
        if [[ -n $(ss -H -l -t -n "sport = :$port" 2>/dev/null </dev/null) ]]; then
            fail "Port $port is already in use on the host; choose another port for the container."
        fi
    done
fi
finish false "The start step publishes the web portal on port $web_port and the comms port on $comms_port."
