import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real OpenSSH sshd on a loopback address, standing in for a fresh VM.
///
/// `start` lays out `baseDirectory/name/` (sshd_config, host keys, authorized_keys, sshd.log, sshd.pid and an
/// empty `root/` folder, "the VM's disk"), validates the configuration with `sshd -t` and runs
/// `/usr/sbin/sshd -D -e -f CONFIG` until `stop()`, `deinit` or `stopAll()`. Sessions see `OCTOPROV_VM_NAME`
/// and `OCTOPROV_VM_ROOT` in their environment. Requires root (sshd's privilege separation); logins are as the
/// current user.
///
/// No process outlives the VM: `stop()` kills the connections, the listener and any command a session left
/// running, and a watchdog process (see `Lifeline`) does the same if this process crashes or is killed.
///
/// Thread safety (`@unchecked Sendable`): the public `let`s are immutable; the mutable state (the sshd process,
/// the current host keys, whether the VM was stopped) lives in `state`, which is only read or written while
/// holding `lock`. Every method may be called from any thread or task.
public final class LoopbackVM: @unchecked Sendable {
    /// How to set up the VM.
    public struct Options: Sendable {
        /// The loopback address sshd listens on: any 127.x.y.z.
        public var address: String = "127.0.0.1"
        /// The TCP port; nil picks a free one (and retries with another if it is taken in the meantime).
        public var port: Int? = nil
        /// Keys allowed to log in as `user`; written to the VM's authorized_keys.
        public var authorizedKeys: [SSHKeyPair] = []
        /// One host key is generated per type (at least one type is required).
        public var hostKeyTypes: [SSHKeyType] = [.ed25519]
        /// Adds "PubkeyAcceptedAlgorithms +ssh-rsa" (OpenSSH 8.8+ refuses ssh-rsa SHA-1 signatures by default).
        public var allowSSHRSA: Bool = false
        /// Lets users log in with their system password (`PasswordAuthentication yes`; root never can).
        public var allowPasswordAuthentication: Bool = false
        /// Raw sshd_config lines appended after the generated ones. sshd keeps the first value it reads
        /// for most settings, so these add settings rather than override generated ones.
        public var extraConfig: [String] = []

        public init() {}
    }

    /// The VM's name: ASCII letters, digits, ".", "_" and "-"; also the name of its folder.
    public let name: String
    public let address: String
    public let port: Int
    /// The user tests log in as: the current user (root in CI).
    public let user: String
    /// The VM's own folder (config, host keys, logs, authorized_keys).
    public let directory: String
    /// "The VM's disk": an empty folder (directory/root) tests use for remote paths.
    public let rootDirectory: String

    /// The host keys sshd currently serves (they change with `regenerateHostKeys()`).
    public var hostKeys: [SSHKeyPair] {
        lock.withLock { state.hostKeys }
    }

    /// sshd's log: stdout and stderr of every sshd started for this VM, appended.
    public var logPath: String {
        layout.logPath
    }

    /// The sshd listener's process id; nil once stopped.
    public var processIdentifier: Int32? {
        lock.withLock { state.process?.processIdentifier }
    }

    /// Whether sshd is running (false after `stop()`, or if sshd died).
    public var isRunning: Bool {
        lock.withLock { state.process?.isRunning ?? false }
    }

    private struct State {
        var process: ChildProcess?
        var hostKeys: [SSHKeyPair]
        var stopped = false
    }

    private let lock = NSLock()
    private var state: State
    private let layout: Layout
    private let lifeline: Lifeline

    private static let registry = ChildRegistry<LoopbackVM>()
    /// How many free ports `start` tries when sshd loses the race for one.
    private static let portAttempts = 5

    private init(layout: Layout, port: Int, process: ChildProcess, hostKeys: [SSHKeyPair], lifeline: Lifeline) {
        self.name = layout.name
        self.address = layout.address
        self.port = port
        self.user = NSUserName()
        self.directory = layout.directory
        self.rootDirectory = layout.rootDirectory
        self.layout = layout
        self.lifeline = lifeline
        self.state = State(process: process, hostKeys: hostKeys)
    }

    deinit {
        stop()
    }

    /// Starts sshd -D -e -f CONFIG (log to logPath) and waits until the port answers with an "SSH-2.0-" banner
    /// (timeout 10 s, then throw with the log's tail).
    ///
    /// The VM lives in `baseDirectory/name`, which must not exist yet or must be empty (after a failed start, pick
    /// another name or base directory; the old folder keeps the log). Throws ``LoopbackVMError`` for a bad name,
    /// address, port or path, a configuration `sshd -t` rejects, or an sshd that exits or stays silent.
    public static func start(
        name: String,
        in baseDirectory: String,
        options: Options = Options()
    ) throws -> LoopbackVM {
        let layout = try Layout(name: name, baseDirectory: baseDirectory, options: options)
        try layout.createFolders()
        var hostKeys: [SSHKeyPair] = []
        var seen = Set<SSHKeyType>()
        for type in options.hostKeyTypes where seen.insert(type).inserted {
            hostKeys.append(try layout.generateHostKey(type, fileName: Layout.hostKeyFileName(type)))
        }
        try Files.write(options.authorizedKeys.map { $0.publicKeyLine + "\n" }.joined(), to: layout.authorizedKeys)
        // sshd's privilege-separation directory; Debian creates it only when its own sshd service starts.
        if !FileManager.default.fileExists(atPath: "/run/sshd") {
            try? Files.makeDirectory("/run/sshd", permissions: 0o755)
        }

        let lifeline = try Lifeline(identity: layout.configPath, marker: layout.marker)
        var port = try options.port ?? Loopback.freePort(address: options.address)
        try layout.writeConfig(port: port, hostKeys: hostKeys)
        try layout.validateConfig()
        var attempt = 1
        while true {
            do {
                let process = try layout.launch(port: port)
                lifeline.watch(process.processIdentifier)
                let vm = LoopbackVM(
                    layout: layout,
                    port: port,
                    process: process,
                    hostKeys: hostKeys,
                    lifeline: lifeline
                )
                registry.register(vm)
                return vm
            } catch LaunchFailure.addressInUse(let logTail) {
                guard options.port == nil, attempt < portAttempts else {
                    lifeline.release()
                    throw LoopbackVMError.sshdStartFailed(
                        name: name,
                        reason: "port \(port) on \(options.address) is already in use",
                        logTail: logTail
                    )
                }
                attempt += 1
                port = try Loopback.freePort(address: options.address)
                try layout.writeConfig(port: port, hostKeys: hostKeys)
            } catch {
                lifeline.release()
                throw error
            }
        }
    }

    /// The processes still carrying the environment marker of the VM whose root folder is `rootDirectory`:
    /// sshd sessions and anything they started, detached daemons included. Empty once the VM is stopped.
    public static func processes(ofVMWithRoot rootDirectory: String) -> [Int32] {
        ProcessTable.processes(withEnvironmentEntry: "OCTOPROV_VM_ROOT=\(rootDirectory)")
    }

    /// Stops every VM started by this process that is still running (for a test suite's teardown).
    ///
    /// VMs are also stopped by `deinit`, and by a watchdog if this process dies without stopping them.
    public static func stopAll() {
        for vm in registry.owners() {
            vm.stop()
        }
    }

    /// "[address]:port ssh-ed25519 AAAA…" lines for every host key (hashed: "|1|salt|hash …" form as
    /// ssh-keygen -H writes it, for tests of hashed entries; implement the HMAC-SHA1 via `ssh-keygen -H` on a
    /// temp file rather than crypto code).
    ///
    /// On port 22 the host is written without brackets ("127.0.0.1 ssh-ed25519 …"), as OpenSSH does.
    public func knownHostsLines(hashed: Bool = false) throws -> [String] {
        let host = port == 22 ? address : "[\(address)]:\(port)"
        let lines = hostKeys.map { "\(host) \($0.algorithmAndKey)" }
        guard hashed else {
            return lines
        }
        let file = (directory as NSString).appendingPathComponent("known_hosts.hash-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(atPath: file)
            try? FileManager.default.removeItem(atPath: file + ".old")
        }
        try Files.write(lines.map { $0 + "\n" }.joined(), to: file)
        try ChildProcess.runChecked(try ChildProcess.locate("ssh-keygen"), ["-H", "-f", file])
        guard let hashedText = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw LoopbackVMError.fileSystem("Cannot read the hashed known_hosts file \(file).")
        }
        let hashedLines = hashedText.split(whereSeparator: \.isNewline).map(String.init).filter { $0.hasPrefix("|1|") }
        guard hashedLines.count == lines.count else {
            throw LoopbackVMError.fileSystem(
                "ssh-keygen -H wrote \(hashedLines.count) hashed lines for \(lines.count) host keys."
            )
        }
        return hashedLines
    }

    /// Kills (SIGKILL) the per-connection sshd children of the listener, not the listener: live connections drop
    /// mid-operation, new ones still work. Returns how many were killed. Find children via /proc/*/stat ppid
    /// (recursively).
    ///
    /// The count is the number of connections dropped: the listener's direct children, including connections
    /// still authenticating. Their descendants (privilege-separated sshd, shells, commands) are killed too.
    /// Returns 0 when stopped.
    @discardableResult
    public func killConnections() -> Int {
        lock.withLock {
            guard let process = state.process, process.isRunning else {
                return 0
            }
            return ProcessTable.killDescendants(of: process.processIdentifier)
        }
    }

    /// Sends `signal` to every process serving a connection (not the listener), e.g. SIGSTOP to make the
    /// VM stop answering without closing anything, as a hung host or a lost route would, and SIGCONT to
    /// let it go on. Returns how many processes got the signal.
    @discardableResult
    public func signalConnections(_ signal: Int32) -> Int {
        lock.withLock {
            guard let process = state.process, process.isRunning else {
                return 0
            }
            return ProcessTable().descendants(of: process.processIdentifier).filter { kill($0, signal) == 0 }.count
        }
    }

    /// Replaces the host keys with fresh ones and restarts sshd on the same address and port (for "host key
    /// changed" tests).
    ///
    /// Live connections are dropped. Throws ``LoopbackVMError/stopped(_:)`` after `stop()`.
    public func regenerateHostKeys() throws {
        try lock.withLock {
            guard !state.stopped else {
                throw LoopbackVMError.stopped("The loopback VM \(name) was stopped; start a new one instead.")
            }
            if let process = state.process {
                layout.shutDown(process)
                state.process = nil
            }
            var fresh: [SSHKeyPair] = []
            for old in state.hostKeys {
                // Generate next to the old key, then rename over it: the config keeps naming the same files.
                let temporaryName = (old.privateKeyPath as NSString).lastPathComponent + ".new"
                let temporaryPath = (directory as NSString).appendingPathComponent(temporaryName)
                try? FileManager.default.removeItem(atPath: temporaryPath)
                try? FileManager.default.removeItem(atPath: temporaryPath + ".pub")
                let key = try layout.generateHostKey(old.type, fileName: temporaryName)
                guard rename(key.privateKeyPath, old.privateKeyPath) == 0,
                    rename(key.publicKeyPath, old.publicKeyPath) == 0
                else {
                    throw LoopbackVMError.systemCall("rename(\(key.privateKeyPath))", errno: errno)
                }
                fresh.append(
                    SSHKeyPair(
                        type: old.type,
                        privateKeyPath: old.privateKeyPath,
                        publicKeyPath: old.publicKeyPath,
                        publicKeyLine: key.publicKeyLine
                    )
                )
            }
            state.hostKeys = fresh
            // The old listener is gone and sshd sets SO_REUSEADDR, but retry briefly in case the port lingers.
            for attempt in 1...10 {
                do {
                    let process = try layout.launch(port: port)
                    lifeline.watch(process.processIdentifier)
                    state.process = process
                    return
                } catch LaunchFailure.addressInUse(let logTail) {
                    if attempt == 10 {
                        throw LoopbackVMError.sshdStartFailed(
                            name: name,
                            reason: "port \(port) on \(address) stayed in use after the restart",
                            logTail: logTail
                        )
                    }
                    usleep(200_000)
                }
            }
        }
    }

    /// Stops sshd (SIGTERM, then SIGKILL after 3 s) and its children; idempotent. Does not delete `directory`.
    ///
    /// The connections' processes are killed first (SIGKILL, found through their parent links), then the
    /// listener is stopped, then any process still carrying this VM's `OCTOPROV_VM_ROOT` (a command a session
    /// left running in the background) is killed.
    public func stop() {
        let process: ChildProcess? = lock.withLock {
            state.stopped = true
            defer { state.process = nil }
            return state.process
        }
        Self.registry.unregister(ObjectIdentifier(self))
        if let process {
            layout.shutDown(process)
        }
        lifeline.release()
    }
}

/// Why a launch failed in a way `start` or `regenerateHostKeys` can retry.
private enum LaunchFailure: Error {
    case addressInUse(logTail: String)
}

/// The fixed facts of one VM (names, paths, options) and the operations that only need those.
private struct Layout {
    let name: String
    let address: String
    let directory: String
    let rootDirectory: String
    let options: Options
    let sshdPath = "/usr/sbin/sshd"

    typealias Options = LoopbackVM.Options

    /// How long a launch waits for the banner.
    static let startTimeout: TimeInterval = 10

    var configPath: String { path("sshd_config") }
    var pidFilePath: String { path("sshd.pid") }
    var authorizedKeys: String { path("authorized_keys") }
    var logPath: String { path("sshd.log") }
    /// The sessions' HOME: the VM's own, so that commands never run this machine's login scripts (this
    /// user's ~/.bashrc here, which may start tools like pyenv that lock shared files).
    var homeDirectory: String { path("home") }
    /// Every process of this VM (sshd and the sessions' commands) carries this environment entry.
    var marker: String { "OCTOPROV_VM_ROOT=\(rootDirectory)" }

    /// Validates everything `start` was given, before anything touches the disk.
    init(name: String, baseDirectory: String, options: Options) throws {
        let allowed = CharacterSet(charactersIn: "._-").union(.alphanumerics)
        guard let first = name.unicodeScalars.first, first.isASCII, CharacterSet.alphanumerics.contains(first),
            name.unicodeScalars.count <= 64,
            name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) })
        else {
            throw LoopbackVMError.invalidArgument(
                "The VM name \"\(name)\" must be 1 to 64 ASCII letters, digits, \".\", \"_\" or \"-\", "
                    + "starting with a letter or digit."
            )
        }
        try Loopback.validate(address: options.address)
        if let port = options.port {
            try Loopback.validate(port: port)
        }
        guard !options.hostKeyTypes.isEmpty else {
            throw LoopbackVMError.invalidArgument("A loopback VM needs at least one host key type.")
        }
        for line in options.extraConfig where line.contains(where: \.isNewline) {
            throw LoopbackVMError.invalidArgument("The extra sshd_config line \"\(line)\" contains a line break.")
        }
        let directory = (Files.absolutePath(baseDirectory) as NSString).appendingPathComponent(name)
        // Paths go into sshd_config in double quotes, so they must not contain quotes, backslashes or controls.
        if directory.unicodeScalars.contains(where: {
            $0 == "\"" || $0 == "\\" || $0.properties.generalCategory == .control
        }) {
            throw LoopbackVMError.invalidArgument(
                "The folder \(directory) cannot be named in sshd_config: it contains a quote, backslash or control "
                    + "character."
            )
        }
        guard FileManager.default.isExecutableFile(atPath: sshdPath) else {
            throw LoopbackVMError.executableNotFound(sshdPath)
        }
        self.name = name
        self.address = options.address
        self.directory = directory
        self.rootDirectory = (directory as NSString).appendingPathComponent("root")
        self.options = options
    }

    static func hostKeyFileName(_ type: SSHKeyType) -> String {
        "ssh_host_\(type.rawValue)_key"
    }

    func path(_ file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }

    func createFolders() throws {
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            throw LoopbackVMError.invalidArgument(
                "Cannot create the VM \(name) in \(directory): the folder already exists and is not empty."
            )
        }
        try Files.makeDirectory(directory, permissions: 0o755)
        try Files.makeDirectory(rootDirectory, permissions: 0o755)
        try Files.makeDirectory(homeDirectory, permissions: 0o755)
    }

    func generateHostKey(_ type: SSHKeyType, fileName: String) throws -> SSHKeyPair {
        try SSHKeyPair.generate(type, in: directory, name: fileName, passphrase: nil, comment: "\(name)@octoprov-vm")
    }

    func writeConfig(port: Int, hostKeys: [SSHKeyPair]) throws {
        func quoted(_ value: String) -> String { "\"\(value)\"" }
        var lines = [
            "# Written by octoprov LoopbackVMs for the loopback VM \(name).",
            "Port \(port)",
            "ListenAddress \(address)",
        ]
        lines += hostKeys.map { "HostKey \(quoted($0.privateKeyPath))" }
        lines += [
            "PidFile \(quoted(pidFilePath))",
            // AuthorizedKeysFile expands %-tokens, so a literal % must be doubled.
            "AuthorizedKeysFile \(quoted(authorizedKeys.replacingOccurrences(of: "%", with: "%%")))",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication \(options.allowPasswordAuthentication ? "yes" : "no")",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "UseDNS no",
            "PrintMotd no",
            // SetEnv overrides the default environment, HOME included; bash then reads the VM's own
            // (empty) ~/.bashrc.
            "SetEnv \(quoted("OCTOPROV_VM_NAME=\(name)")) \(quoted(marker)) \(quoted("HOME=\(homeDirectory)"))",
        ]
        if options.allowSSHRSA {
            lines.append("PubkeyAcceptedAlgorithms +ssh-rsa")
        }
        lines += options.extraConfig
        try Files.write(lines.map { $0 + "\n" }.joined(), to: configPath, permissions: 0o644)
    }

    func validateConfig() throws {
        let result = try ChildProcess.run(sshdPath, ["-t", "-f", configPath])
        guard result.exitStatus == 0 else {
            throw LoopbackVMError.invalidSSHDConfig(path: configPath, output: result.output)
        }
    }

    /// Launches sshd on `port` and waits until it is ready: its pid file names it (so the port is bound by *this*
    /// sshd, not by someone who took it first) and the port answers with an SSH banner.
    func launch(port: Int) throws -> ChildProcess {
        let logOffset = Files.fileSize(logPath)
        var environment = ProcessInfo.processInfo.environment
        environment["OCTOPROV_VM_NAME"] = name
        environment["OCTOPROV_VM_ROOT"] = rootDirectory
        let process: ChildProcess
        do {
            process = try ChildProcess.launch(
                sshdPath,
                ["-D", "-e", "-f", configPath],
                environment: environment,
                outputPath: logPath
            )
        } catch {
            throw LoopbackVMError.sshdStartFailed(name: name, reason: "\(error)", logTail: "")
        }
        let deadline = Date().addingTimeInterval(Self.startTimeout)
        while true {
            if let status = process.exitStatus {
                let logTail = Files.tail(of: logPath, from: logOffset)
                if logTail.contains("Address already in use") {
                    throw LaunchFailure.addressInUse(logTail: logTail)
                }
                throw LoopbackVMError.sshdStartFailed(
                    name: name,
                    reason: "sshd exited with status \(status) before answering on \(address):\(port)",
                    logTail: logTail
                )
            }
            let pidFile = (try? String(contentsOfFile: pidFilePath, encoding: .utf8)) ?? ""
            if pidFile.trimmingCharacters(in: .whitespacesAndNewlines) == String(process.processIdentifier),
                case .success = Loopback.probeBanner(address: address, port: port)
            {
                return process
            }
            if Date() >= deadline {
                shutDown(process)
                throw LoopbackVMError.sshdStartFailed(
                    name: name,
                    reason: "no SSH-2.0- banner on \(address):\(port) within \(Int(Self.startTimeout)) seconds",
                    logTail: Files.tail(of: logPath, from: logOffset)
                )
            }
            usleep(20_000)
        }
    }

    /// Kills the connections, stops the listener (SIGTERM, SIGKILL after 3 s) and sweeps up stray processes.
    func shutDown(_ process: ChildProcess) {
        if process.isRunning {
            ProcessTable.killDescendants(of: process.processIdentifier)
        }
        process.terminate(grace: 3)
        for stray in ProcessTable.processes(withEnvironmentEntry: marker) {
            kill(stray, SIGKILL)
        }
    }
}
