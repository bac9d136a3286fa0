import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The server process behind `service --start/--stop`: started detached (its own session, standard
/// input from /dev/null, output appended to the server log) so it outlives the SSH session that started
/// it, and tracked by a PID file.
enum ServiceProcess {
    /// glibc's `POSIX_SPAWN_SETSID` (a GNU extension Swift does not import): the child calls setsid().
    private static let spawnSetSID: Int16 = 0x80

    /// Starts a detached process.
    /// - Parameters:
    ///   - arguments: The command and its arguments (`arguments[0]` is the executable path).
    ///   - environment: Its environment.
    ///   - logPath: The file its standard output and error are appended to.
    /// - Returns: Its PID.
    /// - Throws: ``OctopusServerError`` (`service`).
    static func spawnDetached(
        _ arguments: [String],
        environment: [String: String],
        logPath: String
    ) throws(OctopusServerError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Descriptors the caller inherited (an SSH channel's pipes, say) must not stay open in the server.
        for descriptor in openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGHUP)
        sigaddset(&defaultSignals, SIGPIPE)
        sigaddset(&defaultSignals, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETSIGDEF) | Int16(POSIX_SPAWN_SETSIGMASK) | spawnSetSID
        )
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw OctopusServerError(
                .service,
                "Cannot start \(arguments[0]): \(String(cString: strerror(status)))."
            )
        }
        return pid
    }

    /// The descriptors open in this process.
    private static func openDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { Int32($0) }.filter { fcntl($0, F_GETFD) != -1 }.sorted()
    }

    /// Whether a PID is a live (not zombie) process running the stand-in's `run` verb.
    static func isServer(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
            if state == "Z" || state == "X" { return false }
        }
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self).lowercased() }
        return arguments.contains("run")
    }

    /// The PID recorded in a PID file, if any.
    static func recordedPID(_ path: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Writes a PID file.
    static func record(_ pid: pid_t, in path: String) {
        try? Data("\(pid)\n".utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// What happened while waiting for a started server.
    enum Outcome: Equatable {
        case listening
        case exited(Int32)
        case timedOut
    }

    /// Waits until a child listens on an address, exits, or the time is up. Reaps the child if it exits.
    static func waitUntilListening(_ pid: pid_t, on address: ListenAddress, timeout: Double) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let exited = status & 0x7f == 0
                return .exited(exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
            if accepts(address) { return .listening }
            usleep(100_000)
        }
        return .timedOut
    }

    /// Whether a TCP connection to the address succeeds.
    static func accepts(_ address: ListenAddress) -> Bool {
        // IPv4 only, as the server listens; a blocking connect on loopback answers at once.
        guard let ipv4 = try? POSIXSocket.ipv4Address(address.host),
            let socket = try? POSIXSocket.connect(to: ipv4, port: address.port, timeout: 10)
        else { return false }
        close(socket)
        return true
    }

    /// Stops a process: SIGTERM, then SIGKILL after `timeout` seconds.
    /// - Returns: Whether it is gone.
    static func stop(_ pid: pid_t, timeout: Double) -> Bool {
        guard kill(pid, SIGTERM) == 0 else { return errno == ESRCH }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            if !isServer(pid) { return true }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        usleep(200_000)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        return !isServer(pid)
    }
}
