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
{{> _linux/same-version.sh }}
{{> _linux/node-draining.sh }}
{{> linux-container/_field-of.sh }}
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
{{> _linux/upgrade-preflight-database.sh }}
if node_draining; then fact node_draining true; else fact node_draining false; fi
{{> _linux/upgrade-preflight-backup-room.sh }}
finish false "The container of Octopus $installed and its database at $database_version can be upgraded to $version."
