#!/usr/bin/env bash
# octoprov step `preflight` on a linux-container host: reports the OS, free space, Docker, the image, the container and the database, changing nothing.
# Rendered by octoprov from Templates/linux-container/preflight.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=preflight

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly image={{ image }}
readonly version={{ version }}
readonly home_dir={{ home_dir }}
readonly data_dir={{ data_dir }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Reports facts only and changes nothing: the OS, free space where the work, data and home folders
# go, Docker and the image, the container, sqlcmd and whether the database exists.
read_sql_secret
{{> _linux/preflight-os-and-free-space.sh }}
for tool in docker sqlcmd curl sha256sum; do
    if command -v "$tool" >/dev/null 2>&1; then fact "tool_$tool" yes; else fact "tool_$tool" no; fi
done

docker_version='' installed='' state=''
if command -v docker >/dev/null 2>&1; then
    docker_version=$(docker version --format "$(go_template .Server.Version)" 2>/dev/null </dev/null || true)
    if [[ -n $docker_version ]]; then
        if docker image inspect -- "$image" >/dev/null 2>&1 </dev/null; then installed=$version; fi
        state=$(container_field .State.Status)
    fi
fi
fact docker_server_version "$docker_version"
fact image "$image"
fact installed_version "$installed"
if [[ -n $installed ]]; then fact version_installed true; else fact version_installed false; fi
fact container_state "$state"
if [[ -n $state ]]; then fact instance_exists true; else fact instance_exists false; fi

database_state=unknown
if command -v sqlcmd >/dev/null 2>&1 && [[ -f "$work_dir/database-exists.sql" ]] &&
    [[ -z $sql_user || -n $secret_sql_password ]]; then
    if run_sql "$work_dir/database-exists.sql" >/dev/null; then
        database_state=false
        if [[ $(sql_value database_exists) == 1 ]]; then database_state=true; fi
    fi
fi
fact database_exists "$database_state"
if [[ -z $docker_version ]]; then
    finish false "The host runs $os_name; Docker does not answer there."
fi
finish false "The host runs $os_name with Docker $docker_version."
