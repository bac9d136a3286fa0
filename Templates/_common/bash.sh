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
