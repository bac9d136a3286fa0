#!/usr/bin/env bash
# octoprov step `install` on a linux-container host: puts the pinned Octopus Server image on the host.
# Rendered by octoprov from Templates/linux-container/install.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=install

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly sql_server={{ sql_server }}
readonly sql_user={{ sql_user }}
readonly container_name={{ container_name }}
readonly image={{ image }}
readonly version={{ version }}
readonly package_file={{ package_file }}
readonly package_url={{ package_url }}
readonly package_sha256={{ package_sha256 }}

{{> _common/bash.sh }}

{{> linux-container/_platform.sh }}

# Puts the pinned image on the host: `docker load` of the uploaded (package_file) or downloaded
# (package_url) image archive after checking its SHA-256, or else `docker pull` by the registry
# digest package_sha256, tagged as the image. Skipped when the image is already there.
require_docker
[[ $package_sha256 =~ ^[0-9a-fA-F]{64}$ ]] || fail "package_sha256 is not a hex SHA-256."
expected_sha256=$(lower "$package_sha256")
fact image "$image"
if docker image inspect -- "$image" >/dev/null 2>&1 </dev/null; then
    fact image_id "$(docker image inspect --format "$(go_template .Id)" -- "$image" </dev/null)"
    finish false "The image is already on the host."
fi
if [[ -n $package_file || -n $package_url ]]; then
    if [[ -n $package_file ]]; then
        [[ -f $package_file ]] || fail "The image archive is not on the host; octoprov uploads it before the install step."
        archive=$package_file
    else
        check_version "$version"
        archive="$work_dir/octopusdeploy-$version.tar"
        if [[ ! -f $archive || $(sha256_of "$archive") != "$expected_sha256" ]]; then
            command -v curl >/dev/null 2>&1 || fail "curl is not installed on the host, so the image archive cannot be downloaded."
            say "Downloading the image archive."
            curl --fail --silent --show-error --location --retry 3 --output "$archive.part" -- "$package_url" </dev/null ||
                fail "Downloading the image archive from package_url failed; see curl's message above."
            mv -f -- "$archive.part" "$archive"
        fi
    fi
    actual=$(sha256_of "$archive") || fail "The image archive cannot be read to check its SHA-256."
    [[ $actual == "$expected_sha256" ]] || fail "The image archive's SHA-256 is $actual, not the pinned $expected_sha256; it is not loaded."
    say "Loading the image archive."
    docker load --input "$archive" </dev/null || fail "docker load failed; see its output above."
else
    repository=$image
    if [[ ${image##*/} == *:* ]]; then repository=${image%:*}; fi
    say "Pulling the image by its digest."
    docker pull "$repository@sha256:$expected_sha256" </dev/null || fail "docker pull failed; see its output above."
    docker tag "$repository@sha256:$expected_sha256" "$image" </dev/null || fail "docker tag failed; see its output above."
fi
docker image inspect -- "$image" >/dev/null 2>&1 </dev/null || fail "The image is still missing after loading; the archive holds another tag."
fact image_id "$(docker image inspect --format "$(go_template .Id)" -- "$image" </dev/null)"
finish true "Put the image on the host."
