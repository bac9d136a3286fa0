#!/usr/bin/env bash
# octoprov step `drain` on a linux-container host: drains the node and stops the old version's container before the new image is loaded.
# Rendered by octoprov from Templates/linux-container/drain.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=drain

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly version={{ version }}
readonly from_version={{ from_version }}

# --- octoprov common (bash): identical in every bash step template; StepTemplateTests checks it ---
# The result protocol (docs/steps.md, docs/templates.md): progress lines on stdout, then exactly one
# last line `OCTOPROV-RESULT {"changed":…,"message":…,"facts":{…}}`; on failure one sentence on
# stderr and a non-zero exit status. Functions used inside $(…) never call `fail`.
facts=()
say() { printf '%s\n' "$*"; }
fail() {
    printf '%s\n' "$*" >&2
    exit 1
}
on_error() {
    # In a subshell ($(…)) only end it: the main shell reports the failure once.
    if [[ $BASHPID != "$$" ]]; then exit "$2"; fi
    fail "The $step step failed at line $1 (exit status $2); see the output above."
}
trap 'on_error "$LINENO" "$?"' ERR
fact() { facts+=("$1" "$2"); }
# json_string TEXT: TEXT as a JSON string literal.
json_string() {
    local text=$1 code octal char hex
    text=${text//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\n'/\\n}
    text=${text//$'\r'/\\r}
    text=${text//$'\t'/\\t}
    for ((code = 1; code < 32; code++)); do
        printf -v octal '%03o' "$code"
        printf -v char '%b' "\\0$octal"
        if [[ $text == *"$char"* ]]; then
            printf -v hex '\\u%04x' "$code"
            text=${text//"$char"/$hex}
        fi
    done
    printf '"%s"' "$text"
}
# finish CHANGED MESSAGE: prints the result line with the facts gathered so far and exits 0.
finish() {
    local json index
    json="{\"changed\":$1,\"message\":$(json_string "$2"),\"facts\":{"
    for ((index = 0; index < ${#facts[@]}; index += 2)); do
        if ((index > 0)); then json+=","; fi
        json+="$(json_string "${facts[index]}"):$(json_string "${facts[index + 1]}")"
    done
    printf 'OCTOPROV-RESULT %s}}\n' "$json"
    exit 0
}
# read_secrets NAME…: reads `NAME=BASE64` lines from stdin until EOF into secret_NAME variables.
# Secrets stay in shell variables: never echoed, never written to a file; a program gets one only
# through a documented flag or environment variable (see docs/templates.md).
read_secrets() {
    local line name value decoded wanted
    while IFS= read -r line || [[ -n $line ]]; do
        [[ -n $line ]] || continue
        name=${line%%=*}
        value=${line#*=}
        for wanted in "$@"; do
            [[ $name == "$wanted" ]] || continue
            [[ $value =~ ^[A-Za-z0-9+/]*={0,2}$ ]] || fail "The secret $name on standard input is not base64."
            decoded=$(printf '%s' "$value" | base64 -d) || fail "The secret $name on standard input is not base64."
            printf -v "secret_$name" '%s' "$decoded"
        done
    done
}
# version_at_least VERSION MINIMUM: whether a dotted version (2023.3.13026, 3.17.14) is >= MINIMUM.
version_at_least() {
    local -a have want
    local index left right
    IFS=. read -r -a have <<<"$1"
    IFS=. read -r -a want <<<"$2"
    for ((index = 0; index < 4; index++)); do
        left=${have[index]:-0}
        right=${want[index]:-0}
        left=${left%%[!0-9]*}
        right=${right%%[!0-9]*}
        left=$((10#${left:-0}))
        right=$((10#${right:-0}))
        if ((left != right)); then
            ((left > right))
            return
        fi
    done
    return 0
}
# version_core TEXT: the first three numbers of a version (2023.3.13026 of 2023.3.13026.0 or of a
# version with a +branch suffix).
version_core() {
    local core=''
    if [[ $1 =~ ^[0-9]+(\.[0-9]+){0,2} ]]; then core=${BASH_REMATCH[0]}; fi
    printf '%s' "${core:-$1}"
}
# check_version TEXT: fails unless TEXT is a plain dotted version; the pin names folders and files.
check_version() {
    [[ $1 =~ ^[0-9]+(\.[0-9]+){1,3}$ ]] || fail "The version to install is not a dotted version like 2023.3.13026."
}
# check_flag NAME VALUE: fails unless VALUE is true or false.
check_flag() {
    [[ $2 == true || $2 == false ]] || fail "The option $1 must be true or false."
}
# json_unescape TEXT: the value of a JSON string's contents.
json_unescape() {
    local text=$1 out='' char index=0 length=${#1}
    while ((index < length)); do
        char=${text:index:1}
        if [[ $char == "\\" ]]; then
            index=$((index + 1))
            char=${text:index:1}
            case $char in
                n) out+=$'\n' ;;
                r) out+=$'\r' ;;
                t) out+=$'\t' ;;
                b) out+=$'\b' ;;
                f) out+=$'\f' ;;
                u)
                    printf -v char '%b' "\\u${text:index+1:4}"
                    out+=$char
                    index=$((index + 4))
                    ;;
                *) out+=$char ;;
            esac
        else
            out+=$char
        fi
        index=$((index + 1))
    done
    printf '%s' "$out"
}
# json_value KEY JSON: the value of "KEY" in a flat JSON object (Octopus.Server's --format=json).
json_value() {
    local pattern="\"${1//./\\.}\"[[:space:]]*:[[:space:]]*(\"(([^\"\\\\]|\\\\.)*)\"|([^,}[:space:]]+))"
    [[ $2 =~ $pattern ]] || return 0
    if [[ -n ${BASH_REMATCH[4]} ]]; then
        printf '%s' "${BASH_REMATCH[4]}"
    else
        json_unescape "${BASH_REMATCH[2]}"
    fi
}
# sql_value NAME: the value on the `NAME|value` line of the last run_sql output (empty if none).
sql_value() {
    local line
    while IFS= read -r line; do
        if [[ $line == "$1|"* ]]; then
            printf '%s' "${line#*|}"
            return 0
        fi
    done <<<"$sql_output"
    return 0
}
# free_bytes PATH: free bytes on the file system that holds PATH or its nearest existing parent.
free_bytes() {
    local path=$1
    [[ -n $path ]] || path=.
    while [[ ! -e $path ]]; do
        case $path in
            */*) path=${path%/*} && path=${path:-/} ;;
            *) path=. ;;
        esac
    done
    df -P -B1 -- "$path" 2>/dev/null | awk 'NR == 2 { print $4 }' || true
}
# sha256_of FILE: the file's lower-case hex SHA-256.
sha256_of() {
    local sum
    sum=$(sha256sum <"$1") || return 1
    printf '%s' "${sum%% *}"
}
# lower TEXT: TEXT in lower case (ASCII).
lower() { printf '%s' "${1,,}"; }
# require_sql NAME: the path of the rendered T-SQL file octoprov uploaded with the step.
require_sql() {
    [[ -f "$work_dir/$1" ]] || fail "The rendered T-SQL file $1 is missing from the work folder; octoprov uploads it with the $step step."
}
sql_output=''
# --- end octoprov common (bash) ---

# --- octoprov linux-container: identical in every linux-container step template; StepTemplateTests checks it ---
# Octopus Server runs in Docker (image octopusdeploy/octopusdeploy:<version>, instance OctopusServer);
# SQL Server runs on the host, reached with mssql-tools18's sqlcmd. The Octopus.Server steps write
# their part of the container's environment to $env_file (0600, no secrets); the admin step stages
# its secrets in $staged_secrets (0600) for start, which removes it once the container exists.
readonly env_file="$work_dir/octopus.env"
# shellcheck disable=SC2034 # only admin and start use it
readonly staged_secrets="$work_dir/octopus-secrets.env"
secret_sql_password=''
# The hooks the steps shared with standin call.
require_sql_tools() {
    command -v sqlcmd >/dev/null 2>&1 || fail "sqlcmd (mssql-tools18) is not on the host's PATH."
}
# read_sql_secret: the SQL login's password, needed when sql_user is set (no integrated security in Linux).
read_sql_secret() { read_secrets sql_password; }
# run_sql FILE: runs a rendered T-SQL file with sqlcmd (-x: no $(var) substitution, -b: stop at the
# first error, -C: trust the local server's certificate; -h -1 -W -s '|': `name|value` lines) and
# keeps the output in $sql_output. A SQL login's password goes in sqlcmd's environment only.
run_sql() {
    local status=0
    if [[ -n $sql_user ]]; then
        [[ -n $secret_sql_password ]] || fail "sql_user is set but the sql_password secret was not given on standard input."
        sql_output=$(SQLCMDPASSWORD=$secret_sql_password sqlcmd -x -b -C -S "$sql_server" -U "$sql_user" \
            -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    else
        sql_output=$(sqlcmd -x -b -C -S "$sql_server" -E -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    fi
    if [[ -n $sql_output ]]; then printf '%s\n' "$sql_output"; fi
    return "$status"
}
require_docker() {
    command -v docker >/dev/null 2>&1 || fail "docker is not installed on the host."
    docker info >/dev/null 2>&1 </dev/null || fail "The Docker daemon does not answer; start it and let the SSH user use it."
}
# go_template FIELD: docker's --format template for FIELD (a template cannot write two braces itself).
go_template() { printf '%s%s %s }}' '{' '{' "$1"; }
# container_field FIELD: a field of the container (empty when there is no container).
container_field() {
    docker container inspect --format "$(go_template "$1")" -- "$container_name" 2>/dev/null </dev/null || true
}
# env_value NAME: NAME's value in the env file (empty if unset).
env_value() {
    local line
    [[ -f $env_file ]] || return 0
    while IFS= read -r line; do
        if [[ $line == "$1="* ]]; then
            printf '%s' "${line#*=}"
            return 0
        fi
    done <"$env_file"
    return 0
}
# set_env NAME VALUE: sets NAME=VALUE in the env file (Docker reads each value to the end of its line).
# Fails when the container already exists with another value: its environment is fixed when created.
env_changed=false
set_env() {
    local line kept=()
    [[ $2 != *$'\n'* && $2 != *$'\r'* ]] || fail "$1 cannot hold a line break: Docker's env file has one variable per line."
    if [[ -f $env_file && $(env_value "$1") == "$2" ]] && grep -q -- "^$1=" "$env_file"; then return 0; fi
    if [[ -n $(container_field .Id) ]]; then
        fail "The container already exists, so $1 cannot change; remove the container to apply the new value."
    fi
    if [[ -f $env_file ]]; then
        while IFS= read -r line; do
            if [[ $line != "$1="* ]]; then kept+=("$line"); fi
        done <"$env_file"
    fi
    kept+=("$1=$2")
    printf '%s\n' "${kept[@]}" >"$env_file.new"
    mv -f -- "$env_file.new" "$env_file"
    # shellcheck disable=SC2034 # read by the steps that call set_env
    env_changed=true
}
# --- end octoprov linux-container ---

# While the old version still runs: drains the node (docker exec … node --drain=true --wait, so that
# running tasks can finish and no new ones start) and stops the container. Skipped when the database
# is already at the target or the container is not running. A marker in the work folder records that
# octoprov drained the node, so that undrain restores the state the node had before: a node that was
# already draining stays draining.
readonly drain_wait=300
readonly marker="$work_dir/octoprov-upgrade-drained"
# same_version A B: whether two dotted versions are equal number by number (2023.3.13026 = 2023.3.13026.0).
same_version() {
    [[ -n $1 && -n $2 ]] || return 1
    version_at_least "$1" "$2" && version_at_least "$2" "$1"
}
# node_draining: whether the last database-version.sql output says this node is draining.
node_draining() {
    local value
    value=$(sql_value node_draining)
    [[ ${value,,} == 1 || ${value,,} == true ]]
}
read_sql_secret
require_docker
require_sql_tools
require_sql database-version.sql
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
if same_version "$database_version" "$version"; then
    finish false "The database is already at $version; there is nothing to drain."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov drains only the instance it provisioned."
state=$(container_field .State.Status)
fact container_state "$state"
if [[ $state != running ]]; then
    if node_draining; then fact node_draining true; else fact node_draining false; fi
    finish false "The container is not running; there is nothing to drain or stop."
fi
if node_draining; then
    say "The node is already draining."
else
    printf 'octoprov drained the node before the upgrade from %s to %s.\n' "$from_version" "$version" >"$marker"
    say "Draining the node (waiting up to $drain_wait seconds for its tasks)."
    docker exec -- "$container_name" /Octopus/Octopus.Server node --instance=OctopusServer --drain=true \
        "--wait=$drain_wait" --console </dev/null || fail "Octopus.Server node --drain=true failed in the container; see its output above."
fi
fact node_draining true
say "Stopping the container."
docker stop -- "$container_name" </dev/null >/dev/null || fail "docker stop failed; see its output above."
fact container_state "$(container_field .State.Status)"
finish true "Drained the node and stopped the container."
