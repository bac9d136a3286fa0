#!/usr/bin/env bash
# octoprov step `upgrade-database` on a linux-container host: runs the target image's container on the database, which upgrades it as it starts.
# Rendered by octoprov from Templates/linux-container/upgrade-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=upgrade-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly mode={{ mode }}
readonly image={{ image }}
readonly backup_sha256={{ backup_sha256 }}
readonly version={{ version }}
readonly from_version={{ from_version }}
readonly web_port={{ web_port }}
readonly comms_port={{ comms_port }}
readonly home_dir={{ home_dir }}
readonly folders_packages={{ folders_packages }}
readonly folders_artifacts={{ folders_artifacts }}
readonly folders_task_logs={{ folders_task_logs }}
readonly folders_event_exports={{ folders_event_exports }}
readonly folders_imports={{ folders_imports }}

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

# Upgrades the database by running a container of the target image on it: Octopus's container
# upgrades an existing database as it starts (octopus-facts §2.7). The old container is stopped and
# kept as <container_name>-before-upgrade; a new one of the target image gets the env file's
# settings, the Master Key (a clone's from stdin; else the old container's MASTER_KEY, or what its
# show-master-key says, since a test instance's container generated its own), the ports and the
# volumes, as start gives them. Once it answers at the target version the old container is removed.
# Skipped when the database is already at the target; a clone only runs on a database whose
# quarantine record is for this backup.
readonly previous_container="$container_name-before-upgrade"
readonly upgrade_wait=1800
# same_version A B: whether two dotted versions are equal number by number (2023.3.13026 = 2023.3.13026.0).
same_version() {
    [[ -n $1 && -n $2 ]] || return 1
    version_at_least "$1" "$2" && version_at_least "$2" "$1"
}
# field_of CONTAINER FIELD: a field of a container (empty when there is no such container).
field_of() {
    docker container inspect --format "$(go_template "$2")" -- "$1" 2>/dev/null </dev/null || true
}
ping_url="http://localhost:$web_port/api/octopusservernodes/ping"
# answers: whether the server answers the ping (200, or 418 when draining).
answers() {
    local code
    code=$(curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' -- "$ping_url" </dev/null) || return 1
    [[ $code == 200 || $code == 418 ]]
}
# wait_until_upgraded: fails unless the new container answers and the database is at the target
# within upgrade_wait seconds.
wait_until_upgraded() {
    local waited
    for ((waited = 0; waited < upgrade_wait; waited += 5)); do
        if [[ $(field_of "$container_name" .State.Status) == exited ]]; then
            fail "The container of $version stopped while upgrading the database; see docker logs $container_name."
        fi
        if answers && run_sql "$work_dir/database-version.sql" >/dev/null && same_version "$(sql_value database_version)" "$version"; then
            return 0
        fi
        sleep 5
    done
    fail "The container of $version did not answer with the database at $version within $upgrade_wait seconds; see docker logs $container_name."
}
# connection_value TEXT: TEXT as a connection-string value, double-quoted when it needs to be.
connection_value() {
    if [[ $1 == *[\;\'\"]* || $1 == [[:space:]]* || $1 == *[[:space:]] ]]; then
        printf '"%s"' "${1//\"/\"\"}"
    else
        printf '%s' "$1"
    fi
}
# mount SOURCE TARGET: a --mount value; the source is a quoted CSV field, so commas stay in the path.
mount() {
    [[ $1 != *$'\n'* && $1 != *$'\r'* ]] || fail "A folder mounted into the container has a line break in its path."
    printf 'type=bind,"source=%s",target=%s' "${1//\"/\"\"}" "$2"
}
# old_master_key CONTAINER: the Master Key the container was given in MASTER_KEY (empty if none).
old_master_key() {
    local line
    while IFS= read -r line; do
        if [[ $line == MASTER_KEY=* ]]; then
            printf '%s' "${line#MASTER_KEY=}"
            return 0
        fi
    done < <(field_of "$1" 'join .Config.Env "\n"')
    return 0
}
secret_master_key=''
read_secrets master_key sql_password
require_docker
require_sql_tools
command -v curl >/dev/null 2>&1 || fail "curl is not installed on the host, so the server's answer cannot be checked."
[[ $web_port =~ ^[0-9]+$ && $comms_port =~ ^[0-9]+$ ]] || fail "web_port and comms_port must be port numbers."
require_sql database-version.sql
fact container_name "$container_name"
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
if same_version "$database_version" "$version"; then
    fact database_version "$database_version"
    if [[ -n $(field_of "$previous_container" .Id) && $(field_of "$container_name" .Config.Image) == "$image" ]]; then
        docker rm --force -- "$previous_container" </dev/null >/dev/null || fail "docker rm of the old container failed; see its output above."
        finish true "The database is at $version; removed the old version's container."
    fi
    finish false "The database is already at $version."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov upgrades only the database it provisioned."
docker image inspect -- "$image" >/dev/null 2>&1 </dev/null || fail "The image $image is not on the host; the install step comes before the database upgrade."
if [[ $mode == clone ]]; then
    [[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
    require_sql verify-quarantine.sql
    run_sql "$work_dir/verify-quarantine.sql" >/dev/null || fail "Reading the database failed; see the sqlcmd output above."
    [[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] ||
        fail "The database has no quarantine record for this backup; octoprov refuses to start a clone that was not quarantined."
fi

if [[ $(field_of "$container_name" .Config.Image) == "$image" ]]; then
    # An earlier run already created the target's container: let it finish the upgrade.
    if [[ $(field_of "$container_name" .State.Status) != running ]]; then
        say "Starting the container of $version again."
        docker start -- "$container_name" </dev/null >/dev/null || fail "docker start failed; see its output above."
    fi
    wait_until_upgraded
else
    old=$container_name
    if [[ -z $(field_of "$old" .Id) ]]; then old=$previous_container; fi
    [[ -n $(field_of "$old" .Id) ]] || fail "The instance's container does not exist on the host; provision it before upgrading it."
    if [[ $old == "$container_name" && -n $(field_of "$previous_container" .Id) ]]; then
        fail "Both $container_name and $previous_container exist; remove the one that is not the instance's before upgrading."
    fi
    master_key=$secret_master_key
    if [[ -z $master_key ]]; then master_key=$(old_master_key "$old"); fi
    if [[ -z $master_key ]]; then
        # A test instance's container generated its key: ask the old server for it (the node is drained).
        if [[ $(field_of "$old" .State.Status) != running ]]; then
            docker start -- "$old" </dev/null >/dev/null || fail "docker start of the old container failed; see its output above."
        fi
        shown=$(docker exec -- "$old" /Octopus/Octopus.Server show-master-key --instance=OctopusServer --format=json \
            --console </dev/null 2>/dev/null) || fail "Octopus.Server show-master-key failed in the old container."
        master_key=$(json_value MasterKey "$shown")
    fi
    [[ $master_key =~ ^[A-Za-z0-9+/]+={0,2}$ ]] || fail "The old container's Master Key could not be read, and the master_key secret was not given."
    if [[ $(field_of "$old" .State.Status) == running ]]; then
        say "Stopping the container of $from_version."
        docker stop -- "$old" </dev/null >/dev/null || fail "docker stop failed; see its output above."
    fi
    if [[ $old != "$previous_container" ]]; then
        docker rename -- "$old" "$previous_container" </dev/null || fail "docker rename failed; see its output above."
    fi
    [[ -f $env_file ]] || fail "The container's env file is missing; the create-instance and database steps write it."
    connection=$(env_value DB_CONNECTION_STRING)
    [[ -n $connection ]] || fail "The env file has no DB_CONNECTION_STRING; run the connect-database or create-database step first."
    if [[ -n $sql_user ]]; then
        [[ -n $secret_sql_password ]] || fail "sql_user is set but the sql_password secret was not given on standard input."
        [[ $connection == *';' ]] || connection+=';'
        connection+="Trusted_Connection=False;User ID=$(connection_value "$sql_user");Password=$(connection_value "$secret_sql_password");"
    fi
    for value in "$connection" "$master_key"; do
        [[ $value != *$'\n'* && $value != *$'\r'* ]] || fail "A value for the container holds a line break, which Docker's env file cannot carry."
    done
    run_env="$work_dir/octopus-run.env"
    cleanup() { rm -f -- "$run_env"; }
    trap cleanup EXIT
    {
        printf 'ACCEPT_EULA=Y\nDISABLE_DIND=Y\n'
        while IFS= read -r line; do
            if [[ $line != DB_CONNECTION_STRING=* ]]; then printf '%s\n' "$line"; fi
        done <"$env_file"
        printf 'DB_CONNECTION_STRING=%s\nMASTER_KEY=%s\n' "$connection" "$master_key"
    } >"$run_env"
    say "Running the container of $version, which upgrades the database as it starts."
    docker run --interactive --detach --name "$container_name" \
        --publish "$web_port:8080" --publish "$comms_port:10943" --env-file "$run_env" \
        --mount "$(mount "$folders_packages" /repository)" --mount "$(mount "$folders_artifacts" /artifacts)" \
        --mount "$(mount "$folders_task_logs" /taskLogs)" --mount "$(mount "$folders_event_exports" /eventExports)" \
        --mount "$(mount "$home_dir/cache" /cache)" --mount "$(mount "$folders_imports" /import)" \
        -- "$image" </dev/null || fail "docker run failed; see its output above."
    rm -f -- "$run_env"
    wait_until_upgraded
fi
docker rm --force -- "$previous_container" </dev/null >/dev/null 2>&1 || true
fact database_version "$version"
finish true "Upgraded the database from $from_version to $version by running the container of $version."
