import Foundation
public import LoopbackVMs
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A private ssh-agent for tests: `ssh-agent -D -a SOCKET` in the foreground, keys added with `ssh-add`.
///
/// Point a client at it with `SSH_AUTH_SOCK=socketPath`. Keys with a passphrase are supported: `add` hands the
/// passphrase to ssh-add through a small `SSH_ASKPASS` script (with `SSH_ASKPASS_REQUIRE=force`) that answers
/// once, so a wrong passphrase fails instead of looping.
///
/// The agent is stopped by `stop()`, `deinit` or `stopAll()`, and by a watchdog process (see `Lifeline`) if this
/// process dies first.
///
/// Thread safety (`@unchecked Sendable`): `socketPath` and `directory` are immutable; the agent's process and
/// watchdog are only read or written while holding `lock`.
public final class SSHAgentProcess: @unchecked Sendable {
    /// The agent's socket: directory/agent.sock.
    public let socketPath: String
    /// The folder holding the socket, the agent's output log and the askpass helper.
    public let directory: String

    /// The agent's process id, nil once stopped.
    public var processIdentifier: Int32? {
        lock.withLock { process?.processIdentifier }
    }

    private let lock = NSLock()
    private var process: ChildProcess?
    private var lifeline: Lifeline?
    private static let registry = ChildRegistry<SSHAgentProcess>()

    private var logPath: String { (directory as NSString).appendingPathComponent("agent.log") }
    private var askpassPath: String { (directory as NSString).appendingPathComponent("askpass.sh") }

    private init(directory: String) {
        self.directory = directory
        self.socketPath = (directory as NSString).appendingPathComponent("agent.sock")
    }

    deinit {
        stop()
    }

    /// Starts `ssh-agent -D -a directory/agent.sock` and waits (up to 5 s) until its socket accepts a connection.
    ///
    /// `directory` is created if missing; it must not already hold an `agent.sock`. Unix socket paths are
    /// limited to about 100 bytes, so keep `directory` short (a folder under /tmp is fine).
    public static func start(in directory: String) throws -> SSHAgentProcess {
        let folder = Files.absolutePath(directory)
        let agent = SSHAgentProcess(directory: folder)
        let socketLimit = 100
        guard agent.socketPath.utf8.count <= socketLimit else {
            throw LoopbackVMError.invalidArgument(
                "The agent socket path \(agent.socketPath) is longer than \(socketLimit) bytes; use a shorter folder."
            )
        }
        try Files.makeDirectory(folder, permissions: 0o700)
        guard !FileManager.default.fileExists(atPath: agent.socketPath) else {
            throw LoopbackVMError.invalidArgument(
                "Cannot start an agent at \(agent.socketPath): the file already exists."
            )
        }
        let script = """
            #!/bin/sh
            # Answers ssh-add's passphrase prompt once; a second prompt means the passphrase was wrong.
            [ -e "$OCTOPROV_ASKPASS_MARKER" ] && exit 1
            : > "$OCTOPROV_ASKPASS_MARKER"
            printf '%s\\n' "$OCTOPROV_ASKPASS_PASSPHRASE"

            """
        try Files.write(script, to: agent.askpassPath, permissions: 0o700)

        let executable = try ChildProcess.locate("ssh-agent")
        let logOffset = Files.fileSize(agent.logPath)
        // Kills the agent if this process dies without stopping it.
        let lifeline = try Lifeline(identity: agent.socketPath, marker: "")
        let process: ChildProcess
        do {
            process = try ChildProcess.launch(executable, ["-D", "-a", agent.socketPath], outputPath: agent.logPath)
        } catch {
            lifeline.release()
            throw LoopbackVMError.agentStartFailed(
                reason: "\(executable) could not be launched (\(error))",
                logTail: ""
            )
        }
        lifeline.watch(process.processIdentifier)
        registry.register(agent)
        agent.lock.withLock {
            agent.process = process
            agent.lifeline = lifeline
        }
        let deadline = Date().addingTimeInterval(5)
        // The socket file appears at bind(), before the agent listens: a connection is what says it is ready.
        while !POSIXSocket.acceptsUnixConnection(agent.socketPath) {
            if !process.isRunning || Date() >= deadline {
                let reason =
                    process.isRunning
                    ? "its socket did not accept a connection within 5 seconds"
                    : "it exited with status \(process.exitStatus ?? -1)"
                agent.stop()
                throw LoopbackVMError.agentStartFailed(
                    reason: reason,
                    logTail: Files.tail(of: agent.logPath, from: logOffset)
                )
            }
            usleep(10_000)
        }
        return agent
    }

    /// Stops every agent started by this process that is still running.
    public static func stopAll() {
        for agent in registry.owners() {
            agent.stop()
        }
    }

    /// Adds `key` to the agent with `ssh-add`, answering its passphrase prompt if the key has one.
    public func add(_ key: SSHKeyPair) throws {
        guard lock.withLock({ process?.isRunning ?? false }) else {
            throw LoopbackVMError.stopped("The ssh-agent at \(socketPath) is not running.")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["SSH_AUTH_SOCK"] = socketPath
        environment.removeValue(forKey: "DISPLAY")
        let marker = (directory as NSString).appendingPathComponent("askpass-\(UUID().uuidString).used")
        defer { try? FileManager.default.removeItem(atPath: marker) }
        if let passphrase = key.passphrase {
            environment["SSH_ASKPASS"] = askpassPath
            environment["SSH_ASKPASS_REQUIRE"] = "force"
            environment["OCTOPROV_ASKPASS_PASSPHRASE"] = passphrase
            environment["OCTOPROV_ASKPASS_MARKER"] = marker
        } else {
            environment["SSH_ASKPASS_REQUIRE"] = "never"
        }
        try ChildProcess.runChecked(
            try ChildProcess.locate("ssh-add"),
            [key.privateKeyPath],
            environment: environment,
            timeout: 30
        )
    }

    /// Stops the agent (SIGTERM, then SIGKILL after 3 s); idempotent. Does not delete `directory`.
    public func stop() {
        let (process, lifeline): (ChildProcess?, Lifeline?) = lock.withLock {
            defer {
                self.process = nil
                self.lifeline = nil
            }
            return (self.process, self.lifeline)
        }
        Self.registry.unregister(ObjectIdentifier(self))
        if let process {
            process.terminate(grace: 3)
            // ssh-agent removes its socket on SIGTERM, but not when it had to be killed.
            try? FileManager.default.removeItem(atPath: socketPath)
        }
        lifeline?.release()
    }
}
