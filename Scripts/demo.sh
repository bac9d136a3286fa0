#!/usr/bin/env bash
# Tries octoprov on a sandbox: fresh "VMs" (real sshd on loopback), a seeded production to clone, and
# listeners that would catch any contact with production. Checks the sandbox inventory, prints the
# clone plan for one VM, runs a command everywhere, then stops everything. Needs a built octoprov
# (swift build -c release) and Debian's openssh-server (bash .ci/setup); run as root. Leaves nothing
# running.
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
show "$octoprov" plan -i "$SANDBOX/inventory.yml" --limit vm1 --output "$WORK/plan"
# shellcheck disable=SC2016 # expanded on the VMs, not here
show "$octoprov" exec -i "$SANDBOX/inventory.yml" -- 'echo "hello from $OCTOPROV_VM_NAME as $(id -un)"'
show "$octoprov" sandbox status --dir "$SANDBOX"
show "$octoprov" sandbox down --dir "$SANDBOX"
