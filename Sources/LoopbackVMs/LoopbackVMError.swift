public import Foundation

/// Everything that can go wrong while preparing keys, loopback sshd "VMs" or agents.
///
/// Each case renders as one sentence (see `description`), so a failing test or `octoprov sandbox`
/// can print it as is.
public enum LoopbackVMError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// An argument was rejected before anything was started (bad name, address, port or path).
    case invalidArgument(String)
    /// A required program (ssh-keygen, ssh-agent, sshd, …) is not installed.
    case executableNotFound(String)
    /// A helper program ran but failed; `output` is its combined stdout and stderr.
    case commandFailed(command: [String], exitStatus: Int32, output: String)
    /// A file-system operation failed.
    case fileSystem(String)
    /// A POSIX call (socket, bind, connect, …) failed with `errno`.
    case systemCall(String, errno: Int32)
    /// Nothing answered with an `SSH-2.0-` banner on address:port in time.
    case bannerTimeout(address: String, port: Int, seconds: Double, lastError: String)
    /// `sshd -t` rejected the generated configuration; `output` is what sshd printed.
    case invalidSSHDConfig(path: String, output: String)
    /// sshd did not come up; `logTail` holds the last lines it logged.
    case sshdStartFailed(name: String, reason: String, logTail: String)
    /// ssh-agent did not come up; `logTail` holds the last lines it printed.
    case agentStartFailed(reason: String, logTail: String)
    /// The VM or agent was already stopped.
    case stopped(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message):
            return message
        case .executableNotFound(let name):
            return "Cannot find the program \(name) (looked in PATH, /usr/bin, /usr/sbin and /usr/local/bin)."
        case .commandFailed(let command, let exitStatus, let output):
            return "\(command.joined(separator: " ")) exited with status \(exitStatus): \(Self.oneLine(output))"
        case .fileSystem(let message):
            return message
        case .systemCall(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))."
        case .bannerTimeout(let address, let port, let seconds, let lastError):
            return "No SSH-2.0- banner from \(address):\(port) within \(seconds) s (last attempt: \(lastError))."
        case .invalidSSHDConfig(let path, let output):
            return "sshd rejected the configuration \(path): \(Self.oneLine(output))"
        case .sshdStartFailed(let name, let reason, let logTail):
            return "The loopback VM \(name) did not start: \(reason); sshd log tail: \(Self.oneLine(logTail))"
        case .agentStartFailed(let reason, let logTail):
            return "ssh-agent did not start: \(reason); its output: \(Self.oneLine(logTail))"
        case .stopped(let message):
            return message
        }
    }

    public var errorDescription: String? { description }

    /// Joins multi-line tool output into one line so every error stays one sentence.
    private static func oneLine(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let joined = lines.filter { !$0.isEmpty }.joined(separator: " | ")
        return joined.isEmpty ? "(no output)" : joined
    }
}
