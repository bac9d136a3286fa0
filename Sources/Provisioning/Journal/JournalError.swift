public import Foundation

/// Who holds a journal's lock, as far as octoprov can tell.
public struct JournalLockHolder: Sendable, Hashable, CustomStringConvertible {
    /// The holding process, from `/proc/locks` (or from the lock file when `/proc` does not say).
    public var pid: Int32?
    /// When it took the lock (or, when it did not write that, when the process started).
    public var started: Date?
    /// The machine it runs on, when it wrote that.
    public var hostname: String?

    /// Creates a holder description.
    ///
    /// - Parameters:
    ///   - pid: The holding process.
    ///   - started: When it took the lock or started.
    ///   - hostname: Its machine.
    public init(pid: Int32?, started: Date?, hostname: String?) {
        self.pid = pid
        self.started = started
        self.hostname = hostname
    }

    /// `PID 1234, started 2026-05-01T10:00:00.000Z` (what is known).
    public var description: String {
        var parts: [String] = []
        if let pid { parts.append("PID \(pid)") }
        if let started { parts.append("started \(Timestamp.string(started))") }
        if let hostname, !hostname.isEmpty { parts.append("on \(hostname)") }
        return parts.joined(separator: ", ")
    }
}

/// Why a journal could not be opened or updated. Each description is one sentence naming the file, instance or
/// host and what to do.
public enum JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another process holds the journal's lock.
    case locked(holder: JournalLockHolder, instance: String, inventory: String, lockPath: String)
    /// A file operation on the journal, its folder or its lock failed.
    case file(FileOperationError)
    /// ``Journal/markFinished(host:step:status:message:facts:duration:)`` for a step that is not running.
    case notRunning(host: String, step: String, path: String)
    /// ``Journal/reset(host:from:)`` names a step the host's journal does not know.
    case unknownStep(host: String, step: String, known: [String], path: String)
    /// The journal was closed (its lock released) and can no longer be changed.
    case closed(path: String)

    /// One sentence: what happened and what to do.
    public var description: String {
        switch self {
        case .locked(let holder, let instance, let inventory, let lockPath):
            let who = holder.pid == nil ? "Another process" : "Another octoprov (\(holder))"
            let stop = holder.pid.map { " (`kill \($0)`)" } ?? ""
            return "\(who) is provisioning instance \(instance) of inventory \(inventory); wait for it to finish or "
                + "stop it\(stop), then run again (lock: \(lockPath))."
        case .file(let error):
            return error.description
        case .notRunning(let host, let step, let path):
            return "Step \(step) on host \(host) is not running in the journal \(path), so it cannot finish; mark it "
                + "running first."
        case .unknownStep(let host, let step, let known, let path):
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            return "The journal \(path) has no step \(step) for host \(host) (it has \(list)); name one of those or "
                + "declare the host's steps first."
        case .closed(let path):
            return "The journal \(path) was closed and its lock released; open it again to record more."
        }
    }
}
