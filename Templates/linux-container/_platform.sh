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
# keeps the output in $sql_output. A SQL login's password goes in sqlcmd's environment only. It prints
# the output, unless a second argument `quiet` asks for it only when sqlcmd fails (a long listing).
run_sql() {
    local status=0
    if [[ -n $sql_user ]]; then
        [[ -n $secret_sql_password ]] || fail "sql_user is set but the sql_password secret was not given on standard input."
        sql_output=$(SQLCMDPASSWORD=$secret_sql_password sqlcmd -x -b -C -S "$sql_server" -U "$sql_user" \
            -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    else
        sql_output=$(sqlcmd -x -b -C -S "$sql_server" -E -h -1 -W -s '|' -i "$1" 2>&1 </dev/null) || status=$?
    fi
    if [[ -n $sql_output && (${2-} != quiet || $status != 0) ]]; then printf '%s\n' "$sql_output"; fi
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
