#!/usr/bin/env bash
# octoprov step `upgrade-preflight` on a standin host: checks that the instance can be upgraded in place, changing nothing.
# Rendered by octoprov from Templates/standin/upgrade-preflight.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=upgrade-preflight

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly version={{ version }}
readonly from_version={{ from_version }}
readonly upgrade_backup_file={{ upgrade_backup_file }}

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

# --- octoprov standin: identical in every standin step template; StepTemplateTests checks it ---
# The stand-in package installs to $install_dir/<version>, with $install_dir/current linking to the
# pinned one; its Octopus.Server and sqlcmd take the real programs' verbs and flags. It keeps its
# "SQL Server" databases under $OCTOPUS_STANDIN_DATA.
readonly octopus_server="$install_dir/current/bin/Octopus.Server"
readonly sqlcmd_program="$install_dir/current/bin/sqlcmd"
export OCTOPUS_STANDIN_DATA="$sql_data_root"
# installed_version: the VERSION of the installed stand-in package (empty if none).
installed_version() {
    local text=''
    if [[ -f "$install_dir/current/VERSION" ]]; then
        text=$(<"$install_dir/current/VERSION") || true
    fi
    printf '%s' "${text//[[:space:]]/}"
}
require_standin() {
    [[ -x $octopus_server && -x $sqlcmd_program ]] || fail "The stand-in is not installed in the install folder; run the install step first."
}
# The hooks the steps shared with linux-container call: the stand-in is its own sqlcmd, and needs no login.
require_sql_tools() { require_standin; }
read_sql_secret() { :; }
# run_sql FILE: runs a rendered T-SQL file with sqlcmd (-x: no $(var) substitution, -b: stop at the
# first error; -h -1 -W -s '|': `name|value` lines) and keeps the output in $sql_output.
run_sql() {
    local status=0
    sql_output=$("$sqlcmd_program" -x -b -S "$sql_server" -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    if [[ -n $sql_output ]]; then printf '%s\n' "$sql_output"; fi
    return "$status"
}
# octopus VERB FLAG…: runs Octopus.Server; fails the step when it fails.
octopus() {
    local status=0
    "$octopus_server" "$@" </dev/null || status=$?
    ((status == 0)) || fail "Octopus.Server $1 failed with exit status $status; see its output above."
}
# instance_exists: whether list-instances names $instance_name (text format, as the docs show it).
instance_exists() {
    local listing line
    listing=$("$octopus_server" list-instances </dev/null 2>/dev/null) || return 1
    while IFS= read -r line; do
        if [[ $line == "Instance '$instance_name' uses configuration "* ]]; then return 0; fi
    done <<<"$listing"
    return 1
}
# show_configuration: the instance's flat JSON configuration (empty if it cannot be read).
show_configuration() {
    "$octopus_server" show-configuration "--instance=$instance_name" --format=json --noconsolelogging </dev/null 2>/dev/null || true
}
# --- end octoprov standin ---

# Checks, changing nothing, that the instance can be upgraded in place from from_version to version:
# the instance and its database exist, the installed stand-in and the database are each at
# from_version or already at the target (a resumed upgrade), the target is not older (octoprov does
# not downgrade), and the work folder has room for the database's backup while one is still to be
# taken. The stand-in's sys.database_files has no size, so its whole SQL data folder bounds the
# backup's size.
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
# service_running: whether this instance's server runs (its PID file names a live process).
service_running() {
    local pid
    pid=$(cat -- "$home_dir/standin.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}
check_version "$version"
check_version "$from_version"
fact from_version "$from_version"
fact target_version "$version"
version_at_least "$version" "$from_version" ||
    fail "The target version $version is older than the instance's $from_version; octoprov does not downgrade (roll back by restoring the upgrade backup and reinstalling $from_version)."
require_standin
instance_exists || fail "The instance does not exist on the host; provision it before upgrading it."
installed=$(installed_version)
fact installed_version "$installed"
if ! same_version "$installed" "$from_version" && ! same_version "$installed" "$version"; then
    fail "The stand-in ${installed:-(none)} is installed, neither the instance's version $from_version nor the target $version; octoprov upgrades only what it provisioned."
fi
require_sql database-exists.sql
require_sql database-version.sql
require_sql database-size.sql
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
[[ $(sql_value database_exists) == 1 ]] || fail "The instance's database does not exist; provision the instance before upgrading it."
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
if node_draining; then fact node_draining true; else fact node_draining false; fi
if service_running; then fact service_running true; else fact service_running false; fi
if same_version "$database_version" "$version"; then
    upgraded=true
elif same_version "$database_version" "$from_version"; then
    upgraded=false
else
    fail "The database is at Octopus ${database_version:-(unknown)}, neither the instance's version $from_version nor the target $version; octoprov upgrades only the database it provisioned."
fi
fact database_upgraded "$upgraded"
fact upgrade_backup_file "$upgrade_backup_file"
free=$(free_bytes "$work_dir")
fact free_bytes_work_dir "$free"
if [[ $upgraded == true ]]; then
    finish false "The instance's database is already upgraded to $version."
fi
run_sql "$work_dir/database-size.sql" || fail "Reading the database's size failed; see the sqlcmd output above."
database_bytes=$(sql_value database_bytes)
fact database_bytes "$database_bytes"
if [[ ! -f $upgrade_backup_file && $database_bytes =~ ^[0-9]+$ && $free =~ ^[0-9]+$ ]] && ((free < database_bytes)); then
    fail "The work folder has $free bytes free, less than the $database_bytes bytes the database's backup may take; free some space on the host."
fi
finish false "The stand-in $installed and its database at $database_version can be upgraded to $version."
