#!/usr/bin/env bash
# octoprov step `upgrade-database` on a standin host: upgrades the stopped instance's database to the installed version.
# Rendered by octoprov from Templates/standin/upgrade-database.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=upgrade-database

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly version={{ version }}
readonly from_version={{ from_version }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Upgrades the stopped instance's database to the installed target version (database --upgrade: the
# new version's upgrade scripts, in one transaction). Skipped when the database is already at the
# target; refused before the target is installed and while a server still runs.
{{> _linux/same-version.sh }}
{{> standin/_service-running.sh }}
require_standin
instance_exists || fail "The instance does not exist on the host; provision it before upgrading it."
require_sql database-version.sql
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
if same_version "$database_version" "$version"; then
    fact database_version "$database_version"
    finish false "The database is already at $version."
fi
same_version "$database_version" "$from_version" ||
    fail "The database is at Octopus ${database_version:-(unknown)}, not at the instance's version $from_version; octoprov upgrades only the database it provisioned."
installed=$(installed_version)
fact installed_version "$installed"
same_version "$installed" "$version" ||
    fail "The stand-in ${installed:-(none)} is installed, not $version; the install step comes before the database upgrade."
if service_running; then fail "The service is still running; the drain step stops it before the database upgrade."; fi
say "Upgrading the database from $database_version to $version."
octopus database "--instance=$instance_name" --upgrade
run_sql "$work_dir/database-version.sql" || fail "Reading the upgraded database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
same_version "$database_version" "$version" ||
    fail "After database --upgrade the database is at Octopus ${database_version:-(unknown)}, not $version."
finish true "Upgraded the database from $from_version to $version."
