#!/usr/bin/env bash
# octoprov step `admin` on a standin host: sets the admin user, octoprov's API key and the licence.
# Rendered by octoprov from Templates/standin/admin.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=admin

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly home_dir={{ home_dir }}
readonly admin_username={{ admin_username }}
readonly admin_email={{ admin_email }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Creates or updates the break-glass admin user (admin, with octoprov's API key) and sets the licence
# (license --licenseBase64). The secrets arrive on stdin and reach Octopus.Server only as its
# documented flags. A marker in the home folder keeps a salted SHA-256 of what was applied (never the
# values), so a second run with the same inputs changes nothing.
require_standin
secret_admin_password='' secret_admin_api_key='' secret_license_base64=''
read_secrets admin_password admin_api_key license_base64
instance_exists || fail "The instance does not exist; the create-instance step comes before admin."
{{> _linux/admin-check-inputs.sh }}
marker="$home_dir/octoprov-admin.state"
{{> _linux/admin-read-marker.sh }}
digest=$(printf '%s\0' "$salt" "$instance_name" "$admin_username" "$admin_email" "$secret_admin_password" \
    "$secret_admin_api_key" "$secret_license_base64" | sha256sum)
digest=${digest%% *}
if [[ $recorded == "$digest" ]]; then
    finish false "The admin user and the licence are already set."
fi
if [[ -n $admin_username ]]; then
    say "Setting the admin user."
    arguments=(admin "--instance=$instance_name" "--username=$admin_username")
    if [[ -n $admin_email ]]; then arguments+=("--email=$admin_email"); fi
    # The secrets go in the Linux container's variables for --password and --apiKey, which the stand-in
    # reads like the container does, so that they are in no process's arguments on the host.
    export ADMIN_PASSWORD=$secret_admin_password ADMIN_API_KEY=$secret_admin_api_key
    octopus "${arguments[@]}"
    unset ADMIN_PASSWORD ADMIN_API_KEY
fi
if [[ -n $secret_license_base64 ]]; then
    say "Setting the licence."
    export OCTOPUS_SERVER_BASE64_LICENSE=$secret_license_base64
    octopus license "--instance=$instance_name"
    unset OCTOPUS_SERVER_BASE64_LICENSE
fi
mkdir -p -- "$home_dir"
printf '%s\n%s\n' "$salt" "$digest" >"$marker.new"
mv -f -- "$marker.new" "$marker"
finish true "Set the admin user and the licence."
