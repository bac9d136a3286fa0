#!/usr/bin/env bash
# Tries octoprov against a private loopback sshd standing in for a VM: exec, an unknown-host
# refusal, and a verified, resumable copy both ways. Needs a built octoprov (swift build -c release)
# and Debian's openssh-server (bash .ci/setup). Leaves nothing running.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
octoprov=${OCTOPROV:-$root/.build/release/octoprov}
[[ -x $octoprov ]] || {
    echo "No octoprov at $octoprov: run 'swift build -c release' first (or set OCTOPROV)." >&2
    exit 1
}

WORK=$(mktemp -d)
SSHD_PID=
cleanup() {
    [[ -n $SSHD_PID ]] && kill "$SSHD_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=Scripts/lib/loopback-sshd.sh
source "$root/Scripts/lib/loopback-sshd.sh"
loopback_sshd_start "$WORK" vm1

show() {
    printf '\n$ %s\n' "$*"
    "$@" || printf '(exit status %s)\n' "$?"
}

cd "$WORK"
# shellcheck disable=SC2016 # expanded on the VM, not here
show "$octoprov" exec -i inventory.yml -- 'echo "hello from $(hostname) as $(id -un)"; uname -sr'
show "$octoprov" exec -i inventory.yml -- 'echo "this goes to stderr" >&2; exit 42'

# An inventory whose known_hosts does not know the VM yet: strict refuses and says how to trust it.
sed "s|$KNOWN_HOSTS|$WORK/empty_known_hosts|" inventory.yml >strict.yml
show "$octoprov" exec -i strict.yml -- true

mkdir -p backup/TaskLogs
head -c 50000000 /dev/urandom >backup/OctopusDeploy.bak
for i in 1 2 3; do echo "task $i log" >"backup/TaskLogs/ServerTasks-$i.log.txt"; done
show "$octoprov" copy -i inventory.yml backup "$WORK/vm1-disk/backup"
show "$octoprov" copy -i inventory.yml backup "$WORK/vm1-disk/backup"
show "$octoprov" copy -i inventory.yml --download "$WORK/vm1-disk/backup/TaskLogs" fetched
show find fetched -type f
