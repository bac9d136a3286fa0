#!/usr/bin/env bash
# Benchmarks/transfer.sh: octoprov's file transfer against OpenSSH (sftp, scp), side by side, in
# one run, against a private loopback sshd. See Benchmarks/README.md for how to read the output.
#
#   bash Benchmarks/transfer.sh [--size 1G] [--runs 3] [--octoprov PATH] [--keep]
#
# Exit status: 0 when every transfer of every tool succeeded and every checksum matched; 1 when
# any transfer failed, timed out or produced a wrong file (each is named); 2 for a usage or setup
# error (bad arguments, sshd would not start).
set -euo pipefail
export LC_ALL=C # '.' as the decimal point in EPOCHREALTIME, printf and awk

usage() {
    cat <<'EOF'
usage: bash Benchmarks/transfer.sh [--size SIZE] [--runs N] [--octoprov PATH] [--keep]

Times octoprov copy (upload and download) against OpenSSH sftp and scp over a private sshd
on 127.0.0.1, interleaving the tools in every run, and prints MB/s (MB = 10^6 bytes) with
ratios against sftp.

  --size SIZE      bytes of random data to copy; K, M, G suffixes are powers of 1024
                   (as for `head -c`): 64M, 1G, 512K (default 1G)
  --runs N         runs; each run times every tool once in each direction (default 3)
  --octoprov PATH  the octoprov binary to measure (default: $OCTOPROV if set, else
                   `swift build -c release --product octoprov` in the repository root and
                   .build/release/octoprov)
  --keep           keep the work directory (sshd config and log, per-transfer logs, results)
  -h, --help       this text
EOF
}

die() {
    printf 'transfer.sh: %s\n' "$*" >&2
    exit 2
}

note() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Arguments

SIZE_ARG=1G
RUNS=3
OCTOPROV_BIN=${OCTOPROV:-}
KEEP=0

while (($# > 0)); do
    case $1 in
    --size) (($# >= 2)) || die "--size needs a value"; SIZE_ARG=$2; shift 2 ;;
    --size=*) SIZE_ARG=${1#*=}; shift ;;
    --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --octoprov) (($# >= 2)) || die "--octoprov needs a value"; OCTOPROV_BIN=$2; shift 2 ;;
    --octoprov=*) OCTOPROV_BIN=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# Prints SIZE in bytes: digits with an optional K/M/G suffix (powers of 1024, like `head -c`).
parse_size() {
    local s=$1 n unit
    [[ $s =~ ^([0-9]+)([KkMmGg]?)(i?B)?$ ]] || return 1
    n=$((10#${BASH_REMATCH[1]}))
    unit=${BASH_REMATCH[2]}
    case $unit in
    K | k) n=$((n * 1024)) ;;
    M | m) n=$((n * 1024 * 1024)) ;;
    G | g) n=$((n * 1024 * 1024 * 1024)) ;;
    esac
    ((n > 0)) || return 1
    printf '%d\n' "$n"
}

SIZE=$(parse_size "$SIZE_ARG") || die "bad --size '$SIZE_ARG' (want e.g. 64M, 1G, 512K or bytes)"
if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((10#$RUNS < 1)); then
    die "bad --runs '$RUNS' (want a whole number >= 1)"
fi
RUNS=$((10#$RUNS))

for tool in ssh-keygen ssh sftp scp sha256sum python3 timeout awk; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
SSHD=${SSHD:-/usr/sbin/sshd}
[[ -x $SSHD ]] || die "missing $SSHD (apt-get install openssh-server)"

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---------------------------------------------------------------------------------------------
# Work directory and cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/octoprov-bench.XXXXXX")
SSHD_PID=
TRANSFER_PID=

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
    local status=$?
    if [[ -n $TRANSFER_PID ]]; then # interrupted mid-transfer: stop it before removing its files
        kill "$TRANSFER_PID" 2>/dev/null || true
        wait "$TRANSFER_PID" 2>/dev/null || true
    fi
    if [[ -n $SSHD_PID ]] && kill -0 "$SSHD_PID" 2>/dev/null; then
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
    fi
    if ((KEEP)); then
        note "kept work directory: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/remote" "$WORK/local" "$WORK/logs"
SRC=$WORK/source.bin              # uploaded by every tool, and the remote file every tool downloads
UP_DST=$WORK/remote/upload.bin    # where uploads land on the "remote" (this machine, via sshd)
DOWN_DST=$WORK/local/download.bin # where downloads land
RESULTS=$WORK/results.tsv         # run, tool, direction, seconds, status
: >"$RESULTS"

# ---------------------------------------------------------------------------------------------
# octoprov binary: --octoprov, else $OCTOPROV, else a release build of this checkout.
# If there is none, the octoprov rows fail (clearly) and the OpenSSH rows are still measured.

OCTOPROV_PROBLEM=
if [[ -z $OCTOPROV_BIN ]]; then
    note "building octoprov: swift build -c release --product octoprov (in $REPO_ROOT)"
    if (cd "$REPO_ROOT" && swift build -c release --product octoprov) >"$WORK/logs/build.log" 2>&1; then
        OCTOPROV_BIN=$REPO_ROOT/.build/release/octoprov
    else
        tail -n 20 "$WORK/logs/build.log" >&2 || true
        OCTOPROV_PROBLEM="swift build -c release --product octoprov failed in $REPO_ROOT"
    fi
fi
if [[ -z $OCTOPROV_PROBLEM ]]; then
    [[ $OCTOPROV_BIN == /* ]] || OCTOPROV_BIN=$PWD/$OCTOPROV_BIN
    [[ -f $OCTOPROV_BIN && -x $OCTOPROV_BIN ]] || OCTOPROV_PROBLEM="no executable octoprov at $OCTOPROV_BIN"
fi
if [[ -n $OCTOPROV_PROBLEM ]]; then
    note "OCTOPROV UNAVAILABLE: $OCTOPROV_PROBLEM; its rows will fail (no numbers) and the exit status will be 1"
fi

# ---------------------------------------------------------------------------------------------
# Private sshd on 127.0.0.1 (LogLevel DEBUG1 logs, per connection, the cipher and MAC each client
# negotiated; the table reports those).

# shellcheck source=Scripts/lib/loopback-sshd.sh
source "$(dirname "${BASH_SOURCE[0]}")/../Scripts/lib/loopback-sshd.sh"
loopback_sshd_start "$WORK" bench DEBUG1

# Options shared by ssh, sftp and scp. -F /dev/null keeps a user's ~/.ssh/config (ciphers,
# compression, multiplexing) out of the measurement.
SSH_OPTS=(-F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes
    -o LogLevel=ERROR)
AES_OPTS=(-c aes128-ctr -o MACs=hmac-sha2-256)
TARGET=$USER_NAME@127.0.0.1

# The cipher and MAC OpenSSH's client negotiates by default, from the client's side.
ssh_probe_rc=0
ssh -vv "${SSH_OPTS[@]}" -p "$PORT" "$TARGET" true </dev/null >"$WORK/logs/ssh-probe.log" 2>&1 ||
    ssh_probe_rc=$?
SSH_DEFAULT_CIPHER=$(sed -n 's/^debug1: kex: client->server cipher: \(.*\) compression:.*/\1/p' \
    "$WORK/logs/ssh-probe.log" | head -n 1)
if ((ssh_probe_rc != 0)) || [[ -z $SSH_DEFAULT_CIPHER ]]; then
    note "ssh client output:"
    grep -v '^debug' "$WORK/logs/ssh-probe.log" | tail -n 15 >&2 || true
    note "sshd log:"
    tail -n 15 "$SSHD_LOG" >&2
    die "ssh $TARGET -p $PORT true failed (exit $ssh_probe_rc); nothing can be measured"
fi

# ---------------------------------------------------------------------------------------------
# Source data: random bytes, so no compression anywhere can flatter a tool.

note "writing $SIZE random bytes to $SRC"
head -c "$SIZE" /dev/urandom >"$SRC"
SRC_SHA=$(sha256sum "$SRC" | cut -d' ' -f1)

# ---------------------------------------------------------------------------------------------
# Tools. transfer_cmd TOOL DIRECTION SRC DST sets CMD to the command that copies SRC to DST.

TOOLS=(octoprov sftp sftp-aes scp scp-O)
declare -A LABEL=([octoprov]="octoprov" [sftp]="sftp" [sftp-aes]="sftp (aes128-ctr)"
    [scp]="scp" [scp-O]="scp -O (legacy)")
SFTP_BATCH=$WORK/sftp.batch

transfer_cmd() {
    local tool=$1 dir=$2 src=$3 dst=$4
    case $tool in
    octoprov)
        if [[ $dir == upload ]]; then
            CMD=("$OCTOPROV_BIN" copy -q -i "$INVENTORY" "$src" "$dst")
        else
            CMD=("$OCTOPROV_BIN" copy -q -i "$INVENTORY" --download --flat "$src" "$dst")
        fi
        ;;
    sftp | sftp-aes)
        if [[ $dir == upload ]]; then
            printf 'put "%s" "%s"\n' "$src" "$dst" >"$SFTP_BATCH"
        else
            printf 'get "%s" "%s"\n' "$src" "$dst" >"$SFTP_BATCH"
        fi
        CMD=(sftp -q -b "$SFTP_BATCH" "${SSH_OPTS[@]}" -P "$PORT")
        [[ $tool == sftp-aes ]] && CMD+=("${AES_OPTS[@]}")
        CMD+=("$TARGET")
        ;;
    scp | scp-O)
        CMD=(scp -q "${SSH_OPTS[@]}" -P "$PORT")
        [[ $tool == scp-O ]] && CMD+=(-O)
        if [[ $dir == upload ]]; then
            CMD+=("$src" "$TARGET:$dst")
        else
            CMD+=("$TARGET:$src" "$dst")
        fi
        ;;
    *) die "unknown tool $tool" ;;
    esac
}

# A hung transfer must not hang the benchmark: allow 2 minutes plus 1 s per MB.
TRANSFER_TIMEOUT=$((120 + SIZE / 1000000))

declare -A FAILED=()    # "tool direction" -> why; a tool that failed once is not retried
declare -A CIPHER=()    # "tool direction" -> cipher/MAC seen in the sshd log
FAILURES=()

# time_transfer RUN TOOL DIRECTION: one timed transfer, its check, its cleanup.
time_transfer() {
    local run=$1 tool=$2 dir=$3 src dst key="$2 $3" log t0 t1 rc=0 secs sha why='' log_from cipher last
    if [[ -n ${FAILED[$key]:-} ]]; then
        printf '%s\t%s\t%s\t\tskipped\n' "$run" "$tool" "$dir" >>"$RESULTS"
        return 0
    fi
    if [[ $dir == upload ]]; then src=$SRC dst=$UP_DST; else src=$SRC dst=$DOWN_DST; fi
    rm -f "$dst"
    log=$WORK/logs/run$run-$tool-$dir.log
    log_from=$(($(stat -c %s "$SSHD_LOG") + 1))

    if [[ $tool == octoprov && -n $OCTOPROV_PROBLEM ]]; then
        rc=127 why=$OCTOPROV_PROBLEM
    else
        transfer_cmd "$tool" "$dir" "$src" "$dst"
        t0=$EPOCHREALTIME
        # In the background and waited for, so that an interrupt reaches our trap at once and
        # cleanup can stop the transfer (timeout(1) puts itself in its own process group).
        timeout -k 10 "$TRANSFER_TIMEOUT" "${CMD[@]}" </dev/null >"$log" 2>&1 &
        TRANSFER_PID=$!
        wait "$TRANSFER_PID" || rc=$?
        t1=$EPOCHREALTIME
        TRANSFER_PID=
    fi

    if [[ -z $why ]]; then
        if ((rc == 124 || rc == 137)); then
            why="timed out after ${TRANSFER_TIMEOUT}s"
        elif ((rc != 0)); then
            why="exit status $rc"
            # The line most likely to say why: the first mentioning an error, else the first.
            last=$({ grep -i -m 1 'error' "$log" || grep -v -m 1 '^[[:space:]]*$' "$log"; } |
                sed 's/^[[:space:]]*//' | cut -c 1-120 || true)
            [[ -z $last ]] || why+=": $last"
        elif [[ ! -f $dst ]]; then
            why="exit status 0 but no file at $dst"
        else
            sha=$(sha256sum "$dst" | cut -d' ' -f1)
            [[ $sha == "$SRC_SHA" ]] || why="sha256 mismatch: got $sha, want $SRC_SHA ($(stat -c %s "$dst") of $SIZE bytes)"
        fi
    fi
    rm -f "$dst"
    sync # nothing one tool wrote is flushed on the next tool's clock

    if [[ -z ${CIPHER[$key]:-} ]]; then
        cipher=$(tail -c "+$log_from" "$SSHD_LOG" |
            sed -n 's/^debug1: kex: client->server cipher: \(.*\) compression:.*/\1/p' | head -n 1)
        CIPHER[$key]=${cipher:-?}
    fi

    if [[ -n $why ]]; then
        FAILED[$key]=$why
        FAILURES+=("${LABEL[$tool]} $dir (run $run): $why")
        printf '%s\t%s\t%s\t\tfailed\n' "$run" "$tool" "$dir" >>"$RESULTS"
        note "  run $run  ${LABEL[$tool]} $dir: FAILED: $why"
        if [[ -s $log ]]; then
            note "  --- its output ($log), last lines:"
            tail -n 15 "$log" | sed 's/^/  | /' >&2
        fi
        return 0
    fi
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    printf '%s\t%s\t%s\t%s\tok\n' "$run" "$tool" "$dir" "$secs" >>"$RESULTS"
    note "$(awk -v r="$run" -v l="${LABEL[$tool]}" -v d="$dir" -v s="$secs" -v n="$SIZE" \
        'BEGIN { printf "  run %s  %-18s %-8s %8.3f s %9.1f MB/s  sha256 ok", r, l, d, s, n / 1e6 / s }')"
}

# ---------------------------------------------------------------------------------------------
# Runs: every run times every tool in both directions, and each run starts at a different tool,
# so slow drift of the machine (other jobs, page cache, thermal) spreads over all tools alike.

note "sshd on 127.0.0.1:$PORT; $RUNS run(s) of $SIZE bytes; work dir $WORK"
for ((run = 1; run <= RUNS; run++)); do
    n=${#TOOLS[@]}
    for ((i = 0; i < n; i++)); do
        tool=${TOOLS[(i + run - 1) % n]}
        time_transfer "$run" "$tool" upload
        time_transfer "$run" "$tool" download
    done
done

# ---------------------------------------------------------------------------------------------
# Report

# stats TOOL DIRECTION -> "median min max count" in MB/s, or nothing if no run succeeded.
stats() {
    awk -F'\t' -v t="$1" -v d="$2" -v n="$SIZE" '
        $2 == t && $3 == d && $5 == "ok" { v[++c] = n / 1e6 / $4 }
        END {
            if (c == 0) exit
            for (i = 2; i <= c; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            med = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
            printf "%.6f %.6f %.6f %d\n", med, v[1], v[c], c
        }' "$RESULTS"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
versions=$(dpkg-query -W -f='${Package} ${Version}; ' libssh2-1 openssh-server 2>/dev/null || true)
octoprov_libssh2=
if [[ -z $OCTOPROV_PROBLEM ]]; then
    octoprov_libssh2=$(ldd "$OCTOPROV_BIN" 2>/dev/null | awk '/libssh2/ { print $3; exit }' || true)
fi

echo
echo "octoprov transfer benchmark: octoprov copy vs OpenSSH sftp/scp over loopback sshd"
printf 'size:     %s bytes (%s, random data), %s run(s), tools interleaved per run\n' \
    "$SIZE" "$SIZE_ARG" "$RUNS"
printf 'machine:  %s cores (nproc), %s\n' "$(nproc)" "${cpu_model:-unknown CPU}"
printf 'versions: %s%s\n' "$versions" "$(ssh -V 2>&1)"
printf 'octoprov: %s%s\n' "${OCTOPROV_PROBLEM:-$OCTOPROV_BIN}" \
    "${octoprov_libssh2:+ (libssh2: $octoprov_libssh2)}"
printf 'OpenSSH default cipher/MAC (ssh -vv): %s\n' "$SSH_DEFAULT_CIPHER"
echo "MB/s: MB = 10^6 bytes; wall clock per transfer, process start and SSH handshake included"
echo
row_fmt='%-18s %-9s %11s %9s %9s %8s  %s\n'
# shellcheck disable=SC2059 # the format is ours, shared by header and rows
printf "$row_fmt" tool direction "median MB/s" "min MB/s" "max MB/s" "vs sftp" "cipher/MAC (sshd log)"
declare -A MEDIAN=()
for dir in upload download; do
    for tool in "${TOOLS[@]}"; do
        s=$(stats "$tool" "$dir")
        [[ -n $s ]] && MEDIAN["$tool $dir"]=${s%% *}
    done
done
for dir in upload download; do
    for tool in "${TOOLS[@]}"; do
        key="$tool $dir"
        cipher=${CIPHER[$key]:-?}
        if [[ -n ${FAILED[$key]:-} ]]; then
            # shellcheck disable=SC2059
            printf "$row_fmt" "${LABEL[$tool]}" "$dir" FAILED - - - "${FAILED[$key]}"
            continue
        fi
        read -r med min max _ < <(stats "$tool" "$dir")
        ratio=-
        if [[ -n ${MEDIAN["sftp $dir"]:-} ]]; then
            ratio=$(awk -v a="$med" -v b="${MEDIAN["sftp $dir"]}" 'BEGIN { printf "%.2f×", a / b }')
        fi
        # shellcheck disable=SC2059
        printf "$row_fmt" "${LABEL[$tool]}" "$dir" "$(printf '%.1f' "$med")" \
            "$(printf '%.1f' "$min")" "$(printf '%.1f' "$max")" "$ratio" "$cipher"
    done
done
echo
for dir in upload download; do
    o=${MEDIAN["octoprov $dir"]:-} s=${MEDIAN["sftp $dir"]:-}
    if [[ -n $o && -n $s ]]; then
        awk -v d="$dir" -v a="$o" -v b="$s" 'BEGIN { printf "%s: octoprov/sftp = %.2f×\n", d, a / b }'
    else
        printf '%s: octoprov/sftp = n/a (%s failed)\n' "$dir" "$([[ -z $o ]] && echo octoprov || echo sftp)"
    fi
done

if ((${#FAILURES[@]} > 0)); then
    echo
    echo "FAILED (${#FAILURES[@]}):"
    printf '  %s\n' "${FAILURES[@]}"
    exit 1
fi
exit 0
