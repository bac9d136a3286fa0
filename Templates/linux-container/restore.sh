#!/usr/bin/env bash
# octoprov step `restore` on a linux-container host: restores the uploaded backup as a new database.
# Rendered by octoprov from Templates/linux-container/restore.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=restore

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly database={{ database }}
readonly backup_file={{ backup_file }}
readonly backup_sha256={{ backup_sha256 }}
readonly data_dir={{ data_dir }}
readonly version={{ version }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

{{> _linux/restore-setup.sh }}
cleanup() { rm -f -- "$run_file"; }
trap cleanup EXIT
{{> _linux/restore-probe.sh }}

{{> _linux/restore-apply.sh }}
