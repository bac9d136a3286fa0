#!/usr/bin/env bash
# octoprov step `start` on a linux-container host: runs the container and waits until it answers.
# Rendered by octoprov from Templates/linux-container/start.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=start

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly mode={{ mode }}
readonly image={{ image }}
readonly backup_sha256={{ backup_sha256 }}
readonly web_port={{ web_port }}
readonly comms_port={{ comms_port }}
readonly home_dir={{ home_dir }}
readonly folders_packages={{ folders_packages }}
readonly folders_artifacts={{ folders_artifacts }}
readonly folders_task_logs={{ folders_task_logs }}
readonly folders_event_exports={{ folders_event_exports }}
readonly folders_imports={{ folders_imports }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Runs the container: `docker run --interactive --detach` with the env file's settings, ACCEPT_EULA=Y,
# DISABLE_DIND=Y, the Master Key (MASTER_KEY, from stdin), the staged admin secrets, the ports and
# the volumes; or starts it when it exists; then waits until it answers
# /api/octopusservernodes/ping. The merged env file is 0600 and removed when the step ends. A clone
# only starts on a database whose quarantine record is for this backup.
secret_master_key=''
read_secrets master_key sql_password
require_docker
command -v curl >/dev/null 2>&1 || fail "curl is not installed on the host, so the server's answer cannot be checked."
[[ $web_port =~ ^[0-9]+$ && $comms_port =~ ^[0-9]+$ ]] || fail "web_port and comms_port must be port numbers."
if [[ $mode == clone ]]; then
    [[ $backup_sha256 =~ ^[0-9a-f]{64}$ ]] || fail "backup_sha256 is not a lower-case hex SHA-256."
    require_sql_tools
    require_sql verify-quarantine.sql
    run_sql "$work_dir/verify-quarantine.sql" >/dev/null || fail "Reading the database failed; see the sqlcmd output above."
    [[ $(sql_value quarantine_sha256) == "$backup_sha256" ]] ||
        fail "The database has no quarantine record for this backup; octoprov refuses to start a clone that was not quarantined."
fi
ping_url="http://localhost:$web_port/api/octopusservernodes/ping"
fact container_name "$container_name"
fact ping_url "$ping_url"
{{> _linux/answers.sh }}
# wait_until_answering SECONDS: fails unless the server answers within SECONDS.
wait_until_answering() {
    local waited
    for ((waited = 0; waited < $1; waited += 5)); do
        if answers; then return 0; fi
        sleep 5
    done
    fail "Octopus Server in the container did not answer its ping within $1 seconds; see docker logs."
}
{{> linux-container/_connection-value-and-mount.sh }}

state=$(container_field .State.Status)
if [[ $state == running ]]; then
    rm -f -- "$staged_secrets"
    wait_until_answering 600
    finish false "The container is already running and answers."
fi
if [[ -n $state ]]; then
    say "Starting the existing container."
    docker start -- "$container_name" </dev/null || fail "docker start failed; see its output above."
    rm -f -- "$staged_secrets"
    wait_until_answering 600
    finish true "Started the existing container; it answers."
fi

[[ -f $env_file ]] || fail "The container's env file is missing; the create-instance and database steps write it."
connection=$(env_value DB_CONNECTION_STRING)
[[ -n $connection ]] || fail "The env file has no DB_CONNECTION_STRING; run the connect-database or create-database step first."
if [[ $mode == clone && -z $secret_master_key ]]; then
    fail "The master_key secret was not given on standard input; a clone's container needs production's Master Key."
fi
if [[ -n $sql_user ]]; then
    [[ -n $secret_sql_password ]] || fail "sql_user is set but the sql_password secret was not given on standard input."
    [[ $connection == *';' ]] || connection+=';'
    connection+="Trusted_Connection=False;User ID=$(connection_value "$sql_user");Password=$(connection_value "$secret_sql_password");"
fi
for value in "$connection" "$secret_master_key"; do
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
    printf 'DB_CONNECTION_STRING=%s\n' "$connection"
    if [[ -n $secret_master_key ]]; then printf 'MASTER_KEY=%s\n' "$secret_master_key"; fi
    if [[ -f $staged_secrets ]]; then cat -- "$staged_secrets"; fi
} >"$run_env"
say "Running the container."
docker run --interactive --detach --name "$container_name" \
    --publish "$web_port:8080" --publish "$comms_port:10943" --env-file "$run_env" \
    --mount "$(mount "$folders_packages" /repository)" --mount "$(mount "$folders_artifacts" /artifacts)" \
    --mount "$(mount "$folders_task_logs" /taskLogs)" --mount "$(mount "$folders_event_exports" /eventExports)" \
    --mount "$(mount "$home_dir/cache" /cache)" --mount "$(mount "$folders_imports" /import)" \
    -- "$image" </dev/null || fail "docker run failed; see its output above."
rm -f -- "$staged_secrets" "$run_env"
wait_until_answering 600
finish true "Ran the container; Octopus Server answers."
