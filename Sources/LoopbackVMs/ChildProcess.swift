public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawn` and reaped by this object, for the OpenSSH programs tests drive.
///
/// Why not `Foundation.Process`: on Linux it notices that a child exited when a socket it leaks into the child
/// closes, then calls a *blocking* `waitpid` on its one monitoring thread. sshd, ssh-agent and ssh close every
/// inherited descriptor when they start, so that thread blocks until they exit, and no other `Process` in the
/// whole program is seen to finish meanwhile: a long-running sshd launched through `Process` hangs every later
/// `Process.waitUntilExit()` (swift-corelibs-foundation issue 4795).
///
/// The child gets stdin from /dev/null, stdout and stderr appended to `outputPath` (or /dev/null), an empty
/// signal mask and default signal handlers, and no other descriptor of this process. Keep the object while the
/// program should run: dropping it kills the program.
///
/// Thread safety (`@unchecked Sendable`): the exit status is only read or written while holding `lock`, and the
/// pid is only signalled while it has not been reaped, so a signal can never reach a recycled pid.
public final class ChildProcess: @unchecked Sendable {
    /// What `run` returns.
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal number if a signal ended the program (as shells report it).
        public var exitStatus: Int32
        /// Its stdout and stderr, interleaved as written.
        public var output: String
    }

    public let processIdentifier: Int32
    /// The program's path, for messages.
    public let executable: String

    private let lock = NSLock()
    private var status: Int32?

    private init(processIdentifier: Int32, executable: String) {
        self.processIdentifier = processIdentifier
        self.executable = executable
    }

    /// A program still running when its `ChildProcess` goes away is killed (SIGKILL), and it is reaped either way,
    /// so that dropping the object leaks neither a process nor a zombie.
    deinit {
        if isRunning {
            send(SIGKILL)
            waitForExit(timeout: 5)
        }
    }

    /// Starts `executable` (an absolute path) with `arguments`; `environment` nil means this process's own.
    public static func launch(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        outputPath: String? = nil
    ) throws -> ChildProcess {
        try launch(executable, arguments, environment: environment, outputPath: outputPath, input: nil)
    }

    /// `launch` with the child's stdin taken from the descriptor `input` (nil: /dev/null), its stderr to
    /// `errorPath` when given (else with stdout), and `workingDirectory` as its current folder (nil: this process's).
    package static func launch(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]?,
        outputPath: String?,
        errorPath: String? = nil,
        input: Int32?,
        workingDirectory: String? = nil
    ) throws -> ChildProcess {
        let output = try openOutput(outputPath)
        defer { close(output) }
        let errors = try errorPath.map { try openOutput($0) }
        defer { if let errors { close(errors) } }
        let pid = try spawn(
            executable,
            arguments,
            environment: environment ?? ProcessInfo.processInfo.environment,
            input: input,
            output: output,
            errors: errors ?? output,
            workingDirectory: workingDirectory
        )
        return ChildProcess(processIdentifier: pid, executable: executable)
    }

    /// `path` opened for appending (created if missing), or /dev/null.
    private static func openOutput(_ path: String?) throws -> Int32 {
        let output: Int32
        if let path {
            output = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        } else {
            output = open("/dev/null", O_WRONLY | O_CLOEXEC)
        }
        guard output >= 0 else {
            throw LoopbackVMError.systemCall("open(\(path ?? "/dev/null"))", errno: errno)
        }
        return output
    }

    /// Starts `executable` as a daemon: in a new session (no controlling terminal, its own process group),
    /// stdin from /dev/null, stdout and stderr appended to `outputPath`, and not reaped by this process, so it
    /// keeps running after this process exits (it is then adopted by init). Returns its process id.
    public static func launchDetached(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        outputPath: String
    ) throws -> Int32 {
        let output = open(outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard output >= 0 else {
            throw LoopbackVMError.systemCall("open(\(outputPath))", errno: errno)
        }
        defer { close(output) }
        return try spawn(
            executable,
            arguments,
            environment: environment ?? ProcessInfo.processInfo.environment,
            input: nil,
            output: output,
            errors: output,
            newSession: true
        )
    }

    /// Runs `executable` to completion and returns its exit status and combined output.
    ///
    /// The program is killed (SIGKILL) after `timeout` seconds, so a tool that unexpectedly waits cannot hang the
    /// caller; it then reports 137 (128 + SIGKILL).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: TimeInterval = 60
    ) throws -> Result {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("octoprov-output-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child = try launch(executable, arguments, environment: environment, outputPath: outputPath)
        if !child.waitForExit(timeout: timeout) {
            child.send(SIGKILL)
            _ = child.waitForExit(timeout: 10)
        }
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        return Result(exitStatus: child.exitStatus ?? -1, output: String(decoding: data, as: UTF8.self))
    }

    /// Whether the program is still running (a stopped program counts as running).
    public var isRunning: Bool {
        lock.withLock { reapLocked() == nil }
    }

    /// The exit code, or 128 + signal number; nil while running.
    public var exitStatus: Int32? {
        lock.withLock { reapLocked() }
    }

    /// Polls every 10 ms until the program has exited (returns true) or `timeout` seconds passed (false).
    @discardableResult
    public func waitForExit(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() >= deadline {
                return false
            }
            usleep(10_000)
        }
        return true
    }

    /// Sends `signal` unless the program has already exited and been reaped.
    public func send(_ signal: Int32) {
        lock.withLock {
            if reapLocked() == nil {
                kill(processIdentifier, signal)
            }
        }
    }

    /// SIGTERM, then SIGKILL if the program is still running after `grace` seconds; returns once it has exited.
    public func terminate(grace: TimeInterval = 3) {
        guard isRunning else {
            return
        }
        send(SIGTERM)
        if !waitForExit(timeout: grace) {
            send(SIGKILL)
            waitForExit(timeout: 10)
        }
    }

    /// Reaps the child if it has exited and returns its status; caller holds `lock`.
    private func reapLocked() -> Int32? {
        if let status {
            return status
        }
        var raw: Int32 = 0
        let result = waitpid(processIdentifier, &raw, WNOHANG)
        if result == processIdentifier {
            let signal = raw & 0x7f
            status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        } else if result < 0 && errno == ECHILD {
            // Someone else reaped it (SIGCHLD ignored, or a wait(-1) elsewhere): it is gone, status unknown.
            status = -1
        }
        return status
    }

    // MARK: - posix_spawn

    private static func spawn(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: Int32?,
        output: Int32,
        errors: Int32,
        workingDirectory: String? = nil,
        newSession: Bool = false
    ) throws -> pid_t {
        guard executable.hasPrefix("/") else {
            throw LoopbackVMError.invalidArgument("The program path \"\(executable)\" is not absolute.")
        }
        #if os(Linux)
            var actions = posix_spawn_file_actions_t()
            var attributes = posix_spawnattr_t()
        #else
            var actions: posix_spawn_file_actions_t?
            var attributes: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        if let input {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)
        closeInheritedDescriptors(&actions)
        if let workingDirectory {
            #if os(Linux)
                guard let addChangeDirectory, addChangeDirectory(&actions, workingDirectory) == 0 else {
                    throw LoopbackVMError.invalidArgument("Cannot start \(executable) in \(workingDirectory).")
                }
            #else
                throw LoopbackVMError.invalidArgument("Cannot start \(executable) in \(workingDirectory) here.")
            #endif
        }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // glibc's POSIX_SPAWN_SETSID (0x80, a GNU extension Swift does not import): setsid() in the child.
        let setSession: Int32 = newSession ? 0x80 : 0
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setSession))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer -> Int32 in
                guard let argvBase = argvBuffer.baseAddress, let envpBase = envpBuffer.baseAddress else {
                    return EINVAL
                }
                return posix_spawn(&pid, executable, &actions, &attributes, argvBase, envpBase)
            }
        }
        guard result == 0 else {
            throw LoopbackVMError.systemCall("posix_spawn(\(executable))", errno: result)
        }
        return pid
    }

    #if os(Linux)
        private typealias FileActions = UnsafeMutablePointer<posix_spawn_file_actions_t>
        private typealias CloseFrom = @convention(c) (FileActions?, Int32) -> Int32

        /// glibc 2.34+ `posix_spawn_file_actions_addclosefrom_np` (not visible to Swift, so looked up at run time).
        private static let addCloseFrom: CloseFrom? = {
            let name = "posix_spawn_file_actions_addclosefrom_np"
            // A nil handle is RTLD_DEFAULT: search every loaded library.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
                return nil
            }
            return unsafeBitCast(symbol, to: CloseFrom.self)
        }()

        private typealias ChangeDirectory = @convention(c) (FileActions?, UnsafePointer<CChar>?) -> Int32

        /// glibc 2.29+ `posix_spawn_file_actions_addchdir_np` (not visible to Swift, so looked up at run time).
        private static let addChangeDirectory: ChangeDirectory? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
            else { return nil }
            return unsafeBitCast(symbol, to: ChangeDirectory.self)
        }()

        /// Keeps every descriptor above stderr out of the child: closefrom(3) where glibc offers it, otherwise one
        /// close action per descriptor open right now.
        private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
            if let addCloseFrom, addCloseFrom(&actions, 3) == 0 {
                return
            }
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }
    #else
        /// Darwin: every descriptor this library opens is close-on-exec; others are left as they are.
        private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t?) {}
    #endif
}

extension ChildProcess {
    /// Folders searched after `PATH`, so that `/usr/sbin` programs are found even when `PATH` lacks it.
    private static let fallbackFolders = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"]

    /// The absolute path of `name`, searched in `PATH` and then the usual system folders.
    public static func locate(_ name: String) throws -> String {
        let pathFolders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for folder in pathFolders + fallbackFolders where !folder.isEmpty {
            let candidate = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw LoopbackVMError.executableNotFound(name)
    }

    /// Like `run`, but throws `LoopbackVMError.commandFailed` unless the program exits with status 0.
    @discardableResult
    public static func runChecked(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: TimeInterval = 60
    ) throws -> String {
        let result = try run(executable, arguments, environment: environment, timeout: timeout)
        guard result.exitStatus == 0 else {
            throw LoopbackVMError.commandFailed(
                command: [executable] + arguments,
                exitStatus: result.exitStatus,
                output: result.output
            )
        }
        return result.output
    }
}
