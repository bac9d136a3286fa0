#!/usr/bin/env bash
# octoprov step `install` on a standin host: installs the pinned stand-in package and creates the stand-in's SQL Server.
# Rendered by octoprov from Templates/standin/install.sh; the protocol is in docs/steps.md and
# docs/templates.md ("Step scripts").
# shellcheck disable=SC1083,SC2317 # the template's placeholders in double braces (a rendered script has none);
# functions of the shared blocks that this step does not call
set -Eeuo pipefail
umask 077
export LC_ALL=C
readonly step=install

# The values octoprov rendered for this host, each one single-quoted literal.
readonly work_dir={{ work_dir }}
readonly install_dir={{ install_dir }}
readonly sql_server={{ sql_server }}
readonly sql_data_root={{ sql_data_root }}
readonly instance_name={{ instance_name }}
readonly version={{ version }}
readonly package_file={{ package_file }}
readonly package_url={{ package_url }}
readonly package_sha256={{ package_sha256 }}

{{> _common/bash.sh }}

{{> standin/_platform.sh }}

# Installs the stand-in package of the pinned version: the .tar.gz (uploaded, or downloaded from
# package_url) is checked against package_sha256, must hold one top folder
# octopus-standin-<version>/, is extracted to <install_dir>/<version> and <install_dir>/current is
# pointed at it. Skipped when current/VERSION is already the pin. Then the stand-in's SQL Server
# (`octopus-standin create-sql-server`, idempotent) is created when it does not answer yet.
check_version "$version"
[[ $package_sha256 =~ ^[0-9a-fA-F]{64}$ ]] || fail "package_sha256 is not a hex SHA-256."
expected_sha256=$(lower "$package_sha256")
changed=false
fact install_dir "$install_dir"

installed=$(installed_version)
if [[ $installed == "$version" ]]; then
    say "The stand-in $version is already installed."
else
    if [[ -n $package_file ]]; then
        [[ -f $package_file ]] || fail "The package file is not on the host; octoprov uploads it before the install step."
        package=$package_file
    elif [[ -n $package_url ]]; then
        package="$work_dir/octopus-standin-$version.tar.gz"
        if [[ ! -f $package || $(sha256_of "$package") != "$expected_sha256" ]]; then
            command -v curl >/dev/null 2>&1 || fail "curl is not installed on the host, so the package cannot be downloaded."
            say "Downloading the stand-in $version."
            curl --fail --silent --show-error --location --retry 3 --output "$package.part" -- "$package_url" </dev/null ||
                fail "Downloading the package from package_url failed; see curl's message above."
            mv -f -- "$package.part" "$package"
        fi
    else
        fail "Neither package_file nor package_url is set for the stand-in $version."
    fi
    actual=$(sha256_of "$package") || fail "The package cannot be read to check its SHA-256."
    [[ $actual == "$expected_sha256" ]] || fail "The package's SHA-256 is $actual, not the pinned $expected_sha256; it is not installed."

    top="octopus-standin-$version"
    listing=$(tar -tzf "$package" </dev/null) || fail "The package is not a readable .tar.gz file."
    while IFS= read -r entry; do
        if [[ $entry != "$top" && $entry != "$top/"* ]] || [[ $entry == *../* || $entry == */.. ]]; then
            fail "The package holds files outside its one top folder $top/; it is not installed."
        fi
    done <<<"$listing"

    mkdir -p -- "$install_dir"
    staging=$(mktemp -d "$install_dir/.staging.XXXXXX")
    cleanup() { rm -rf -- "$staging"; }
    trap cleanup EXIT
    say "Extracting the stand-in $version."
    tar -xzf "$package" -C "$staging" --no-same-owner </dev/null || fail "Extracting the package failed; see tar's message above."
    packaged=''
    if [[ -f "$staging/$top/VERSION" ]]; then packaged=$(<"$staging/$top/VERSION"); fi
    packaged=${packaged//[[:space:]]/}
    [[ $packaged == "$version" ]] || fail "The package's VERSION file says ${packaged:-nothing}, not the pinned $version."
    for program in octopus-standin Octopus.Server sqlcmd; do
        [[ -x "$staging/$top/bin/$program" ]] || fail "The package has no executable bin/$program."
    done
    rm -rf -- "${install_dir:?}/$version"
    mv -- "$staging/$top" "$install_dir/$version"
    ln -sfn -- "$version" "$install_dir/current.new"
    mv -fT -- "$install_dir/current.new" "$install_dir/current"
    changed=true
    say "Installed the stand-in $version in the install folder."
fi

if "$sqlcmd_program" -S "$sql_server" -Q 'SET NOCOUNT ON' >/dev/null 2>&1 </dev/null; then
    say "The stand-in's SQL Server answers."
else
    say "Creating the stand-in's SQL Server."
    mkdir -p -- "$sql_data_root"
    "$install_dir/current/bin/octopus-standin" create-sql-server "$sql_server" </dev/null ||
        fail "octopus-standin create-sql-server failed; see its output above."
    changed=true
fi
fact installed_version "$version"
if [[ $changed == true ]]; then finish true "Installed the stand-in $version."; fi
finish false "The stand-in $version is already installed."
