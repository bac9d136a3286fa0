#!/usr/bin/env bash
# octoprov step `migrator-export` on a linux-container SOURCE host: refused, the container has no Octopus.Migrator.
# Rendered by octoprov from Templates/linux-container/migrator-export.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=migrator-export

# The values octoprov rendered for the source host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# The Migrator route exports on the source server's machine, but the Linux container image ships no
# Octopus.Migrator (octopus-facts.md §4.6), so a container source cannot make a partial export.
fail "The Linux container ships no Octopus.Migrator, so a linux-container host cannot be the source of a partial export; use a source at Octopus 2021.1 or later (Export/Import Projects)."
