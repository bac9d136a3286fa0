/// Which output stream a chunk of command output came from.
public enum OutputStream: Sendable, Hashable {
    case stdout
    case stderr
}

/// How a remote command ended. A non-zero exit status is a normal result, not a thrown error: the
/// caller decides what counts as failure.
public struct CommandResult: Sendable {
    /// The exit status, or nil when the command was ended by a signal (see ``exitSignal``).
    public var exitStatus: Int32?
    /// The signal name without "SIG" (e.g. "KILL") when the command was killed by a signal.
    public var exitSignal: String?
    /// Collected standard output (empty when collection was off).
    public var stdout: [UInt8]
    /// Collected standard error (empty when collection was off).
    public var stderr: [UInt8]
    /// Total bytes the command wrote to each stream, collected or not.
    public var stdoutByteCount: Int
    public var stderrByteCount: Int
    public var duration: Duration

    /// True when the command exited with status 0.
    public var succeeded: Bool { exitStatus == 0 }

    /// Standard output decoded as UTF-8 (invalid sequences replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid sequences replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// "exit status 3" or "signal KILL", for messages.
    public var statusDescription: String {
        if let exitSignal { return "signal \(exitSignal)" }
        if let exitStatus { return "exit status \(exitStatus)" }
        return "no exit status"
    }
}

/// Options for running one remote command.
public struct ExecOptions: Sendable {
    /// Bytes written to the command's standard input, then end-of-file. Nil sends end-of-file at once.
    public var stdin: [UInt8]?
    /// The command fails with `.timedOut` when it runs longer than this. libssh2 1.10 cannot send a
    /// signal, so on timeout the channel is closed: sshd then closes the command's pipes, which ends
    /// commands that read or write them; wrap long-running commands in `timeout(1)` for a hard stop.
    public var timeout: Duration?
    /// Keep the output in the result. Turn off for very large output consumed by ``onOutput``.
    public var collectOutput: Bool
    /// Called on the session's thread with each chunk of output as it arrives. Keep it quick.
    public var onOutput: (@Sendable (OutputStream, [UInt8]) -> Void)?

    public init(
        stdin: [UInt8]? = nil,
        timeout: Duration? = nil,
        collectOutput: Bool = true,
        onOutput: (@Sendable (OutputStream, [UInt8]) -> Void)? = nil
    ) {
        self.stdin = stdin
        self.timeout = timeout
        self.collectOutput = collectOutput
        self.onOutput = onOutput
    }
}
