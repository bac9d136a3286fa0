#!/usr/bin/env bash
# octoprov step `connect-database` on a standin host: connects the instance to the quarantined database with the Master Key.
# Rendered by octoprov from Templates/standin/connect-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=connect-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly database={{ database }}
readonly connection_string={{ connection_string }}
readonly backup_sha256={{ backup_sha256 }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Clone flow: points the instance at the restored, quarantined database with production's Master
# Key (database --connectionString --masterKey). The key arrives on stdin and goes to Octopus.Server in
# MASTER_KEY, the Linux container's variable for --masterKey, which the stand-in reads like the container
# does: never in a process's arguments, which any user of the host can list.
require_standin
secret_master_key=''
read_secrets master_key
[[ -n $secret_master_key ]] || fail "The master_key secret was not given on standard input."
instance_exists || fail "The instance does not exist; the create-instance step comes before connect-database."
{{> _linux/connect-database-check-quarantine.sh }}
current=$(json_value Octopus.Storage.ExternalDatabaseConnectionString "$(show_configuration)")
if [[ $current == "$connection_string" ]]; then
    key_json=$("$octopus_server" show-master-key "--instance=$instance_name" --format=json </dev/null 2>/dev/null) || key_json=''
    if [[ $(json_value MasterKey "$key_json") == "$secret_master_key" ]]; then
        finish false "The instance already uses the database with this Master Key."
    fi
fi
say "Connecting the instance to the database with the Master Key."
export MASTER_KEY=$secret_master_key
status=0
output=$("$octopus_server" database "--instance=$instance_name" "--connectionString=$connection_string" 2>&1 </dev/null) ||
    status=$?
unset MASTER_KEY
if [[ -n $output ]]; then printf '%s\n' "$output"; fi
if ((status != 0)); then
    # Octopus's answer to a Master Key that does not decrypt the database: a CryptographicException,
    # "Padding is invalid and cannot be removed".
    if [[ $output == *"Padding is invalid"* ]]; then
        fail "The Master Key does not decrypt this database (Octopus.Server database: Padding is invalid); set master_key to the Master Key of the instance the backup came from, then run provision again."
    fi
    fail "Octopus.Server database failed with exit status $status; see its output above."
fi
finish true "Connected the instance to the restored database."
