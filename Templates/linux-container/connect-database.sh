#!/usr/bin/env bash
# octoprov step `connect-database` on a linux-container host: writes the quarantined database into the container's env file and checks the Master Key.
# Rendered by octoprov from Templates/linux-container/connect-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=connect-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly database={{ database }}
readonly connection_string={{ connection_string }}
readonly backup_sha256={{ backup_sha256 }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Clone flow: writes the restored, quarantined database's connection string into the container's env
# file. The Master Key is checked here and handed to the container by the start step (MASTER_KEY),
# so it is never kept on the host.
secret_master_key=''
read_secrets master_key sql_password
[[ -n $secret_master_key ]] || fail "The master_key secret was not given on standard input."
[[ $secret_master_key =~ ^([A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{43}=)$ ]] ||
    fail "The master_key secret is not a base64 key of 16 or 32 bytes, as Octopus shows it."
require_docker
require_sql_tools
{{> _linux/connect-database-check-quarantine.sh }}
set_env DB_CONNECTION_STRING "$connection_string"
if [[ $env_changed == true ]]; then finish true "Wrote the restored database's connection string into the container's env file."; fi
finish false "The container's env file already names the restored database."
