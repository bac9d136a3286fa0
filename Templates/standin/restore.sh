#!/usr/bin/env bash
# octoprov step `restore` on a standin host: restores the uploaded backup as a new database.
# Rendered by octoprov from Templates/standin/restore.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=restore

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly database={{ database }}
readonly backup_file={{ backup_file }}
readonly backup_sha256={{ backup_sha256 }}
readonly data_dir={{ data_dir }}
readonly version={{ version }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

{{> _linux/restore-setup.sh }}
header_file="$work_dir/restore-header.sql"
cleanup() { rm -f -- "$run_file" "$header_file"; }
trap cleanup EXIT
# header_octopus_version: the OctopusVersion column of the backup's first set in RESTORE HEADERONLY, which
# the stand-in adds so that a backup's Octopus version is known before it is restored. Empty where SQL
# Server has no such column or the header cannot be read: the restored database is checked then.
header_octopus_version() {
    local output header row index
    local -a names values
    if [[ $backup_file == *[[:cntrl:]]* ]]; then return 0; fi
    printf 'SET NOCOUNT ON;\nRESTORE HEADERONLY FROM DISK = %s;\n' "$(tsql_literal "$backup_file")" >"$header_file"
    output=$("$sqlcmd_program" -x -b -S "$sql_server" -W -s '|' -i "$header_file" 2>/dev/null </dev/null) || return 0
    header='' row=''
    {
        IFS= read -r header || true
        IFS= read -r _ || true
        IFS= read -r row || true
    } <<<"$output"
    IFS='|' read -r -a names <<<"$header" || true
    IFS='|' read -r -a values <<<"$row" || true
    for ((index = 0; index < ${#names[@]}; index++)); do
        if [[ ${names[index]} == OctopusVersion ]]; then
            if [[ -n ${values[index]:-} && ${values[index]} != NULL ]]; then printf '%s' "${values[index]}"; fi
            return 0
        fi
    done
    return 0
}
{{> _linux/restore-probe.sh }}

say "Reading the backup's header (RESTORE HEADERONLY)."
check_backup_version "$(header_octopus_version)"

{{> _linux/restore-apply.sh }}
