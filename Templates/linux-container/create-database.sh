#!/usr/bin/env bash
# octoprov step `create-database` on a linux-container host: writes a test instance's new database into the container's env file.
# Rendered by octoprov from Templates/linux-container/create-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=create-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly database={{ database }}
readonly connection_string={{ connection_string }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Test-instance flow: the container creates its new database when it first starts; this step checks
# that no database of that name exists yet and writes DB_CONNECTION_STRING into the env file.
read_sql_secret
require_docker
require_sql_tools
require_sql database-exists.sql
fact database "$database"
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
if [[ $(sql_value database_exists) != 0 && $(env_value DB_CONNECTION_STRING) != "$connection_string" ]]; then
    fail "The database already exists and this container does not use it; octoprov does not take over a database, so drop it or choose another database name."
fi
set_env DB_CONNECTION_STRING "$connection_string"
if [[ $env_changed == true ]]; then finish true "Wrote the new database's connection string into the container's env file."; fi
finish false "The container's env file already names this database."
