#!/usr/bin/env bash
# octoprov step `upgrade-preflight` on a standin host: checks that the instance can be upgraded in place, changing nothing.
# Rendered by octoprov from Templates/standin/upgrade-preflight.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=upgrade-preflight

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly version={{ version }}
readonly from_version={{ from_version }}
readonly upgrade_backup_file={{ upgrade_backup_file }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Checks, changing nothing, that the instance can be upgraded in place from from_version to version:
# the instance and its database exist, the installed stand-in and the database are each at
# from_version or already at the target (a resumed upgrade), the target is not older (octoprov does
# not downgrade), and the work folder has room for the database's backup while one is still to be
# taken. The stand-in's sys.database_files has no size, so its whole SQL data folder bounds the
# backup's size.
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
{{> standin/_service-running.sh }}
check_version "$version"
check_version "$from_version"
fact from_version "$from_version"
fact target_version "$version"
version_at_least "$version" "$from_version" ||
    fail "The target version $version is older than the instance's $from_version; octoprov does not downgrade (roll back by restoring the upgrade backup and reinstalling $from_version)."
require_standin
instance_exists || fail "The instance does not exist on the host; provision it before upgrading it."
installed=$(installed_version)
fact installed_version "$installed"
if ! same_version "$installed" "$from_version" && ! same_version "$installed" "$version"; then
    fail "The stand-in ${installed:-(none)} is installed, neither the instance's version $from_version nor the target $version; octoprov upgrades only what it provisioned."
fi
{{> _linux/upgrade-preflight-database.sh }}
if node_draining; then fact node_draining true; else fact node_draining false; fi
if service_running; then fact service_running true; else fact service_running false; fi
{{> _linux/upgrade-preflight-backup-room.sh }}
finish false "The stand-in $installed and its database at $database_version can be upgraded to $version."
