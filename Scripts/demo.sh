#!/usr/bin/env bash
# Tries octoprov on a sandbox: fresh "VMs" (real sshd on loopback), a seeded production to clone, and
# listeners that would catch any contact with production. Checks the sandbox inventory, provisions a
# quarantined, verified clone on every VM, runs provision again (nothing to do), verifies, upgrades one
# clone, compares it with production, rebuilds it from a fresh backup, shows that production was never
# contacted, then stops everything. Needs a built octoprov (swift build -c
# release) and Debian's openssh-server (bash .ci/setup); run as root. Leaves nothing running.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
octoprov=${OCTOPROV:-$root/.build/release/octoprov}
[[ -x $octoprov ]] || {
    echo "No octoprov at $octoprov: run 'swift build -c release' first (or set OCTOPROV)." >&2
    exit 1
}

WORK=$(mktemp -d)
SANDBOX=$WORK/sandbox
cleanup() {
    "$octoprov" sandbox down --dir "$SANDBOX" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

show() {
    local line=${*//$WORK/\$WORK}
    printf '\n$ %s\n' "${line//$octoprov/octoprov}"
    "$@" 2>&1 | sed "s|$WORK|\$WORK|g" || printf '(exit status %s)\n' "${PIPESTATUS[0]}"
}

show "$octoprov" sandbox up --vms 3 --dir "$SANDBOX"
show "$octoprov" inventory check -i "$SANDBOX/inventory.yml"
show "$octoprov" provision -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --quiet \
    --report-json "$WORK/report.json" --junit "$WORK/junit.xml"
show "$octoprov" provision -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --quiet
show "$octoprov" verify -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --quiet
# The rehearsal on vm1: upgrade to the next version, compare with production, then the nightly rebuild
# from a fresh backup takes it back to production's version.
target=2024.1.11892
read -r target_sha256 _ <"$SANDBOX/mirror/octopus-standin-$target.tar.gz.sha256"
show "$octoprov" upgrade -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --quiet --limit vm1 \
    --to "$target" --sha256 "$target_sha256"
show "$octoprov" drift -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --limit vm1 --fail-above 0
show "$octoprov" sandbox backup --dir "$SANDBOX"
show "$octoprov" rebuild -i "$SANDBOX/inventory.yml" --state-dir "$WORK/state" --quiet --limit vm1
show "$octoprov" sandbox status --dir "$SANDBOX"
show "$octoprov" sandbox down --dir "$SANDBOX"
