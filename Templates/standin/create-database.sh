#!/usr/bin/env bash
# octoprov step `create-database` on a standin host: creates a test instance's new database.
# Rendered by octoprov from Templates/standin/create-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=create-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly database={{ database }}
readonly connection_string={{ connection_string }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Test-instance flow: creates the instance's new, empty database (database --create). It never takes
# over a database that exists already, unless this instance already uses it.
require_standin
instance_exists || fail "The instance does not exist; the create-instance step comes before create-database."
require_sql database-exists.sql
fact database "$database"
current=$(json_value Octopus.Storage.ExternalDatabaseConnectionString "$(show_configuration)")
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
if [[ $(sql_value database_exists) != 0 ]]; then
    [[ $current == "$connection_string" ]] ||
        fail "The database already exists and this instance does not use it; octoprov does not take over a database, so drop it or choose another database name."
    finish false "The instance already uses its database."
fi
say "Creating the database."
octopus database "--instance=$instance_name" "--connectionString=$connection_string" --create
finish true "Created the database."
