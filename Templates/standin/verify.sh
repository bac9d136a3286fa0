#!/usr/bin/env bash
# octoprov step `verify` on a standin host: checks on the host that a clone's database is still quarantined.
# Rendered by octoprov from Templates/standin/verify.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=verify

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly mode={{ mode }}
readonly backup_sha256={{ backup_sha256 }}
readonly quarantine_targets={{ quarantine_targets }}
readonly quarantine_workers={{ quarantine_workers }}
readonly quarantine_triggers={{ quarantine_triggers }}
readonly quarantine_subscriptions={{ quarantine_subscriptions }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

{{> _linux/verify.sh }}
