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
# same_version A B: whether two dotted versions are equal number by number (2023.3.13026 = 2023.3.13026.0).
same_version() {
    [[ -n $1 && -n $2 ]] || return 1
    version_at_least "$1" "$2" && version_at_least "$2" "$1"
}
# node_draining: whether the last database-version.sql output says this node is draining.
node_draining() {
    local value
    value=$(sql_value node_draining)
    [[ ${value,,} == 1 || ${value,,} == true ]]
}
# service_running: whether this instance's server runs (its PID file names a live process).
service_running() {
    local pid
    pid=$(cat -- "$home_dir/standin.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}
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
require_sql database-exists.sql
require_sql database-version.sql
require_sql database-size.sql
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
[[ $(sql_value database_exists) == 1 ]] || fail "The instance's database does not exist; provision the instance before upgrading it."
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
if node_draining; then fact node_draining true; else fact node_draining false; fi
if service_running; then fact service_running true; else fact service_running false; fi
if same_version "$database_version" "$version"; then
    upgraded=true
elif same_version "$database_version" "$from_version"; then
    upgraded=false
else
    fail "The database is at Octopus ${database_version:-(unknown)}, neither the instance's version $from_version nor the target $version; octoprov upgrades only the database it provisioned."
fi
fact database_upgraded "$upgraded"
fact upgrade_backup_file "$upgrade_backup_file"
free=$(free_bytes "$work_dir")
fact free_bytes_work_dir "$free"
if [[ $upgraded == true ]]; then
    finish false "The instance's database is already upgraded to $version."
fi
run_sql "$work_dir/database-size.sql" || fail "Reading the database's size failed; see the sqlcmd output above."
database_bytes=$(sql_value database_bytes)
fact database_bytes "$database_bytes"
if [[ ! -f $upgrade_backup_file && $database_bytes =~ ^[0-9]+$ && $free =~ ^[0-9]+$ ]] && ((free < database_bytes)); then
    fail "The work folder has $free bytes free, less than the $database_bytes bytes the database's backup may take; free some space on the host."
fi
finish false "The stand-in $installed and its database at $database_version can be upgraded to $version."
