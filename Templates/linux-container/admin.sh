#!/usr/bin/env bash
# octoprov step `admin` on a linux-container host: sets or stages the admin user, octoprov's API key and the licence.
# Rendered by octoprov from Templates/linux-container/admin.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=admin

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly admin_username={{ admin_username }}
readonly admin_email={{ admin_email }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# The break-glass admin user, octoprov's API key and the licence. With the container running they are
# applied with `docker exec … Octopus.Server admin / license`; before it exists, ADMIN_USERNAME and
# ADMIN_EMAIL go into the env file and the secrets are staged (0600) for the start step, which
# removes them. A marker keeps a salted SHA-256 of what was applied (never the values).
secret_admin_password='' secret_admin_api_key='' secret_license_base64=''
read_secrets admin_password admin_api_key license_base64
require_docker
{{> _linux/admin-check-inputs.sh }}
marker="$work_dir/octoprov-admin.state"
{{> _linux/admin-read-marker.sh }}
digest=$(printf '%s\0' "$salt" "$container_name" "$admin_username" "$admin_email" "$secret_admin_password" \
    "$secret_admin_api_key" "$secret_license_base64" | sha256sum)
digest=${digest%% *}
if [[ $recorded == "$digest" ]]; then
    finish false "The admin user and the licence are already set."
fi
state=$(container_field .State.Status)
if [[ $state == running ]]; then
    if [[ -n $admin_username ]]; then
        say "Setting the admin user in the running container."
        arguments=(admin --instance=OctopusServer "--username=$admin_username")
        if [[ -n $admin_email ]]; then arguments+=("--email=$admin_email"); fi
        if [[ -n $secret_admin_password ]]; then arguments+=("--password=$secret_admin_password"); fi
        if [[ -n $secret_admin_api_key ]]; then arguments+=("--apiKey=$secret_admin_api_key"); fi
        docker exec -- "$container_name" /Octopus/Octopus.Server "${arguments[@]}" </dev/null ||
            fail "Octopus.Server admin failed in the container; see its output above."
    fi
    if [[ -n $secret_license_base64 ]]; then
        say "Setting the licence in the running container."
        docker exec -- "$container_name" /Octopus/Octopus.Server license --instance=OctopusServer \
            "--licenseBase64=$secret_license_base64" </dev/null || fail "Octopus.Server license failed in the container; see its output above."
    fi
elif [[ -n $state ]]; then
    fail "The container exists but is not running; start it so that the admin user can be set in it."
else
    if [[ -n $admin_username ]]; then set_env ADMIN_USERNAME "$admin_username"; fi
    if [[ -n $admin_email ]]; then set_env ADMIN_EMAIL "$admin_email"; fi
    for value in "$secret_admin_password" "$secret_admin_api_key" "$secret_license_base64"; do
        [[ $value != *$'\n'* && $value != *$'\r'* ]] || fail "A secret for the container holds a line break, which Docker's env file cannot carry."
    done
    {
        if [[ -n $secret_admin_password ]]; then printf 'ADMIN_PASSWORD=%s\n' "$secret_admin_password"; fi
        if [[ -n $secret_admin_api_key ]]; then printf 'ADMIN_API_KEY=%s\n' "$secret_admin_api_key"; fi
        if [[ -n $secret_license_base64 ]]; then printf 'OCTOPUS_SERVER_BASE64_LICENSE=%s\n' "$secret_license_base64"; fi
    } >"$staged_secrets"
    say "Staged the admin user and the licence for the container's start."
fi
printf '%s\n%s\n' "$salt" "$digest" >"$marker.new"
mv -f -- "$marker.new" "$marker"
finish true "Set the admin user and the licence."
