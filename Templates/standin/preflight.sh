#!/usr/bin/env bash
# octoprov step `preflight` on a standin host: reports the OS, free space, what is installed and what exists, changing nothing.
# Rendered by octoprov from Templates/standin/preflight.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=preflight

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly version={{ version }}
readonly home_dir={{ home_dir }}
readonly data_dir={{ data_dir }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Reports facts only and changes nothing: the OS, free space where the work, data and home folders
# go, the installed stand-in, whether the instance and the database exist, the tools on the host.
{{> _linux/preflight-os-and-free-space.sh }}
for tool in tar sha256sum base64 curl df; do
    if command -v "$tool" >/dev/null 2>&1; then fact "tool_$tool" yes; else fact "tool_$tool" no; fi
done

installed=$(installed_version)
fact installed_version "$installed"
if [[ $installed == "$version" ]]; then fact version_installed true; else fact version_installed false; fi
instance=false sql_server_exists=false database_state=unknown
if [[ -x $octopus_server && -x $sqlcmd_program ]]; then
    fact sqlcmd "$sqlcmd_program"
    if instance_exists; then instance=true; fi
    if "$sqlcmd_program" -S "$sql_server" -Q 'SET NOCOUNT ON' >/dev/null 2>&1 </dev/null; then
        sql_server_exists=true
        database_state=false
        if [[ -f "$work_dir/database-exists.sql" ]] && run_sql "$work_dir/database-exists.sql" >/dev/null; then
            if [[ $(sql_value database_exists) == 1 ]]; then database_state=true; fi
        else
            database_state=unknown
        fi
    fi
else
    fact sqlcmd ''
fi
fact instance_exists "$instance"
fact sql_server_exists "$sql_server_exists"
fact database_exists "$database_state"
if [[ -n $installed ]]; then
    finish false "The host runs $os_name with the stand-in $installed installed."
fi
finish false "The host runs $os_name; no stand-in is installed yet."
