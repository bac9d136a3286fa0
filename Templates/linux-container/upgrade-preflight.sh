#!/usr/bin/env bash
# octoprov step `upgrade-preflight` on a linux-container host: checks that the instance's container can be upgraded in place, changing nothing.
# Rendered by octoprov from Templates/linux-container/upgrade-preflight.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=upgrade-preflight

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly image={{ image }}
readonly version={{ version }}
readonly from_version={{ from_version }}
readonly upgrade_backup_file={{ upgrade_backup_file }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Checks, changing nothing, that the instance can be upgraded in place from from_version to version:
# the instance's container (or the one an interrupted upgrade-database step kept as
# <container_name>-before-upgrade) and its database exist, the container's image and the database
# are each at from_version or already at the target (a resumed upgrade), the target is not older
# (octoprov does not downgrade), and the work folder has room for the database's backup
# (sql/database-size.sql) while one is still to be taken.
readonly previous_container="$container_name-before-upgrade"
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
# field_of CONTAINER FIELD: a field of a container (empty when there is no such container).
field_of() {
    docker container inspect --format "$(go_template "$2")" -- "$1" 2>/dev/null </dev/null || true
}
read_sql_secret
check_version "$version"
check_version "$from_version"
fact from_version "$from_version"
fact target_version "$version"
version_at_least "$version" "$from_version" ||
    fail "The target version $version is older than the instance's $from_version; octoprov does not downgrade (roll back by restoring the upgrade backup and running the image of $from_version)."
require_docker
require_sql_tools
container=$container_name
if [[ -z $(field_of "$container" .Id) ]]; then container=$previous_container; fi
state=$(field_of "$container" .State.Status)
[[ -n $state ]] || fail "The instance's container does not exist on the host; provision it before upgrading it."
fact container "$container"
fact container_state "$state"
running_image=$(field_of "$container" .Config.Image)
installed=''
if [[ $running_image == *:* && $running_image != *@* ]]; then installed=${running_image##*:}; fi
fact installed_version "$installed"
if ! same_version "$installed" "$from_version" && ! same_version "$installed" "$version"; then
    fail "The container runs the image ${running_image:-(unknown)}, of neither the instance's version $from_version nor the target $version; octoprov upgrades only what it provisioned."
fi
if docker image inspect -- "$image" >/dev/null 2>&1 </dev/null; then fact target_image_loaded true; else fact target_image_loaded false; fi
require_sql database-exists.sql
require_sql database-version.sql
require_sql database-size.sql
run_sql "$work_dir/database-exists.sql" || fail "Checking whether the database exists failed; see the sqlcmd output above."
[[ $(sql_value database_exists) == 1 ]] || fail "The instance's database does not exist; provision the instance before upgrading it."
run_sql "$work_dir/database-version.sql" || fail "Reading the database failed; see the sqlcmd output above."
database_version=$(sql_value database_version)
fact database_version "$database_version"
if node_draining; then fact node_draining true; else fact node_draining false; fi
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
finish false "The container of Octopus $installed and its database at $database_version can be upgraded to $version."
