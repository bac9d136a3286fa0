#!/usr/bin/env bash
# octoprov step `quarantine` on a linux-container host: quarantines the restored database before any Octopus Server starts on it.
# Rendered by octoprov from Templates/linux-container/quarantine.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=quarantine

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly mode={{ mode }}
readonly backup_sha256={{ backup_sha256 }}
readonly server_uri={{ server_uri }}
readonly quarantine_server_nodes={{ quarantine_server_nodes }}
readonly quarantine_targets={{ quarantine_targets }}
readonly quarantine_workers={{ quarantine_workers }}
readonly quarantine_triggers={{ quarantine_triggers }}
readonly quarantine_subscriptions={{ quarantine_subscriptions }}
readonly quarantine_installation_id={{ quarantine_installation_id }}
readonly quarantine_queued_tasks={{ quarantine_queued_tasks }}
readonly quarantine_server_uri={{ quarantine_server_uri }}
readonly quarantine_extensions={{ quarantine_extensions }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

{{> _linux/quarantine.sh }}
