import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A watchdog for the processes of one VM or agent, so that they cannot outlive this process, even when it
/// crashes or is killed with SIGKILL (when no `deinit`, `atexit` hook or signal handler would run).
///
/// It is a small `/bin/sh` script reading a socket whose only other end is held by this process; we send it the
/// pid of each process to guard (`watch(_:)`). When the socket closes (this process exited, however it did, or
/// `release()` was called), the script
/// 1. freezes (SIGSTOP) the last pid it was sent, if that process's command line still contains `identity`
///    (so a recycled pid is left alone), and every descendant (found through `/proc/*/stat`), then SIGKILLs them
///    all: an sshd listener and its per-connection processes;
/// 2. SIGKILLs every process whose initial environment holds exactly `marker` ("NAME=value"): commands that
///    sessions started, which get it from sshd_config's `SetEnv` (sshd's own processes overwrite their
///    environment with their process title, hence step 1).
///
/// The script ignores SIGINT, SIGTERM and SIGHUP, so a Ctrl-C on a test run cannot stop it before it sweeps. On
/// systems without `/proc` it finds nothing to do.
///
/// Safety (`@unchecked Sendable`): `descriptor` is only touched while holding `lock`.
package final class Lifeline: @unchecked Sendable {
    private static let script = """
        trap '' INT TERM HUP
        identity=$1
        marker=$2
        guarded=
        while read -r line; do guarded=$line; done
        case "$guarded" in
            ''|*[!0-9]*) guarded= ;;
        esac
        if [ -n "$guarded" ] && [ -n "$identity" ] && grep -qF -e "$identity" "/proc/$guarded/cmdline" 2>/dev/null
        then
            kill -STOP "$guarded" 2>/dev/null
            tree=$guarded
            frontier=$guarded
            while [ -n "$frontier" ]; do
                next=
                for stat in /proc/[0-9]*/stat; do
                    read -r fields < "$stat" 2>/dev/null || continue
                    set -- ${fields##*) }
                    for parent in $frontier; do
                        if [ "$2" = "$parent" ]; then
                            pid=${stat#/proc/}
                            next="$next ${pid%/stat}"
                        fi
                    done
                done
                [ -n "$next" ] && kill -STOP $next 2>/dev/null
                tree="$tree $next"
                frontier=$next
            done
            kill -KILL $tree 2>/dev/null
        fi
        if [ -n "$marker" ]; then
            for pass in 1 2 3; do
                pids=$(grep -lzxF -e "$marker" /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p')
                [ -n "$pids" ] || break
                kill -KILL $pids 2>/dev/null
                sleep 0.1
            done
        fi
        """

    private let lock = NSLock()
    private var descriptor: Int32
    private let watchdog: ChildProcess

    /// Starts the watchdog. `identity` is text the guarded process's command line contains (for sshd, its config
    /// path, which survives in sshd's process title); `marker` may be empty.
    package init(identity: String, marker: String) throws {
        var descriptors: [Int32] = [-1, -1]
        #if os(Linux)
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &descriptors) == 0 else {
            throw LoopbackVMError.systemCall("socketpair", errno: errno)
        }
        defer { close(descriptors[0]) }
        do {
            watchdog = try ChildProcess.launch(
                "/bin/sh",
                ["-c", Self.script, "octoprov-lifeline", identity, marker],
                environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"],
                outputPath: nil,
                input: descriptors[0]
            )
        } catch {
            close(descriptors[1])
            throw error
        }
        descriptor = descriptors[1]
    }

    deinit {
        release()
    }

    /// Tells the watchdog which process to kill (with its descendants) if this process dies.
    package func watch(_ pid: Int32) {
        let line = Array("\(pid)\n".utf8)
        lock.withLock {
            guard descriptor >= 0 else {
                return
            }
            // MSG_NOSIGNAL: a watchdog that was killed must not take this process down with SIGPIPE.
            #if os(Linux)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            _ = line.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, flags) }
        }
    }

    /// Lets the watchdog sweep now (call after stopping everything, so it finds nothing) and reaps it.
    package func release() {
        let descriptor: Int32 = lock.withLock {
            defer { self.descriptor = -1 }
            return self.descriptor
        }
        guard descriptor >= 0 else {
            return
        }
        close(descriptor)
        if !watchdog.waitForExit(timeout: 5) {
            watchdog.send(SIGKILL)
            watchdog.waitForExit(timeout: 5)
        }
    }
}
