#!/usr/bin/env bash
# A private OpenSSH sshd on 127.0.0.1 with throwaway keys, its known_hosts line and an octoprov
# inventory for it: shared by Scripts/demo.sh and Benchmarks/transfer.sh. Source it, then call
#   loopback_sshd_start WORK_DIR HOST_NAME [LOG_LEVEL]
# which sets PORT, KEY, KNOWN_HOSTS, INVENTORY, USER_NAME, SSHD_PID, SSHD_LOG and SSHD_CONFIG.
# The caller stops sshd (kill "$SSHD_PID") in its EXIT trap.

SSHD=${SSHD:-/usr/sbin/sshd}

if ! declare -F die >/dev/null; then
    die() {
        printf '%s\n' "$*" >&2
        exit 2
    }
fi
if ! declare -F note >/dev/null; then
    note() { printf '%s\n' "$*" >&2; }
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# 0 when something on PORT answers with an SSH banner.
port_answers() {
    local line
    (
        exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
        IFS= read -r -t 2 line <&3 || exit 1
        [[ $line == SSH-* ]]
    ) 2>/dev/null
}

write_sshd_config() {
    cat >"$SSHD_CONFIG" <<CONFIG
Port $PORT
ListenAddress 127.0.0.1
HostKey $SSHD_WORK/host_key
PidFile $SSHD_WORK/sshd.pid
AuthorizedKeysFile $SSHD_WORK/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
UseDNS no
PrintMotd no
LogLevel $SSHD_LOG_LEVEL
CONFIG
}

loopback_sshd_start() {
    SSHD_WORK=$1
    local host_name=$2 attempt i
    SSHD_LOG_LEVEL=${3:-INFO}
    ssh-keygen -q -t ed25519 -N '' -C "octoprov-$host_name-host" -f "$SSHD_WORK/host_key"
    ssh-keygen -q -t ed25519 -N '' -C "octoprov-$host_name-client" -f "$SSHD_WORK/client_key"
    cp "$SSHD_WORK/client_key.pub" "$SSHD_WORK/authorized_keys"
    KEY=$SSHD_WORK/client_key
    KNOWN_HOSTS=$SSHD_WORK/known_hosts
    SSHD_CONFIG=$SSHD_WORK/sshd_config
    SSHD_LOG=$SSHD_WORK/sshd.log
    USER_NAME=$(id -un)
    mkdir -p /run/sshd 2>/dev/null || true # privilege separation directory sshd insists on

    for attempt in 1 2 3; do
        PORT=$(free_port)
        write_sshd_config
        "$SSHD" -t -f "$SSHD_CONFIG" 2>"$SSHD_LOG" || { cat "$SSHD_LOG" >&2; die "sshd -t rejected $SSHD_CONFIG"; }
        "$SSHD" -D -e -f "$SSHD_CONFIG" 2>"$SSHD_LOG" &
        SSHD_PID=$!
        for ((i = 0; i < 100; i++)); do
            if port_answers; then
                loopback_sshd_write_files "$host_name"
                return 0
            fi
            kill -0 "$SSHD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
        SSHD_PID=
        grep -q 'Address already in use' "$SSHD_LOG" || break # only a lost port race is retried
        note "port $PORT was taken before sshd bound it (attempt $attempt); trying another"
    done
    note "sshd log ($SSHD_LOG):"
    cat "$SSHD_LOG" >&2
    die "sshd did not answer on 127.0.0.1:$PORT"
}

loopback_sshd_write_files() {
    printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$SSHD_WORK/host_key.pub")" >"$KNOWN_HOSTS"
    INVENTORY=$SSHD_WORK/inventory.yml
    cat >"$INVENTORY" <<YAML
hosts:
  $1:
    address: 127.0.0.1
    port: $PORT
    user: $USER_NAME
    identity: $KEY
    known_hosts: $KNOWN_HOSTS
    host_key_policy: strict
YAML
}
