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

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

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
{{> _linux/same-version.sh }}
{{> linux-container/_field-of.sh }}
ping_url="http://localhost:$web_port/api/octopusservernodes/ping"
{{> _linux/answers.sh }}
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
{{> linux-container/_connection-value-and-mount.sh }}
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
{{> _linux/clone-check-quarantine.sh }}

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
