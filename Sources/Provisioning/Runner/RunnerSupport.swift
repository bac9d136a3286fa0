import Crypto
import Foundation
import SSHKit
import Synchronization

/// Creates a fresh folder under the temporary directory that only this user can enter (0700), for files that pass
/// through octoprov on their way to or from a host.
///
/// - Parameter prefix: The start of the folder's name.
/// - Returns: The folder's path; the caller removes it.
func privateTemporaryDirectory(_ prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
        atPath: path,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
    )
    return path
}

/// Splits a step script's output into lines as it arrives and reports each one, redacted.
final class StepOutputLines: Sendable {
    private let host: String
    private let step: String
    private let redactor: Redactor
    private let events: @Sendable (ProvisionEvent) -> Void
    private let splitters = Mutex([LineSplitter(), LineSplitter()])

    init(host: String, step: String, redactor: Redactor, events: @escaping @Sendable (ProvisionEvent) -> Void) {
        self.host = host
        self.step = step
        self.redactor = redactor
        self.events = events
    }

    func feed(_ isError: Bool, _ chunk: [UInt8]) {
        let lines = splitters.withLock { $0[isError ? 1 : 0].feed(chunk) }
        for line in lines { emit(line, isError: isError) }
    }

    func finish() {
        let last = splitters.withLock { [$0[0].finish(), $0[1].finish()] }
        if let out = last[0] { emit(out, isError: false) }
        if let err = last[1] { emit(err, isError: true) }
    }

    private func emit(_ line: String, isError: Bool) {
        // The result line is the runner's, not the person's.
        if line.hasPrefix(StepScriptResult.marker) { return }
        events(.output(host: host, step: step, line: redactor.redact(line), isError: isError))
    }
}

/// Adds up the progress of the files of one transfer (one file, or every file of the server folders) and lets it
/// through about once a second and at the end, so that the console shows the whole step, not a line per file.
final class TransferTally: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var completed: [String: UInt64] = [:]
        var finished = false
    }

    private let totalBytes: UInt64
    private let state = Mutex(State())

    /// - Parameter totalBytes: The bytes of everything the step transfers.
    init(totalBytes: UInt64) {
        self.totalBytes = totalBytes
    }

    /// The step's bytes done so far when it is time to report them, else `nil`.
    func update(_ progress: TransferProgress) -> UInt64? {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.completed[progress.path] = progress.completedBytes
            let done = state.completed.values.reduce(0, +)
            let complete = done >= totalBytes
            guard !state.finished, complete || state.last.map({ $0.duration(to: now) >= .seconds(1) }) ?? true else {
                return nil
            }
            state.last = now
            state.finished = complete
            return done
        }
    }
}

/// A digest of a local folder tree's listing (relative path, type, size, modification time), so that a changed
/// server folder reruns `copy-folders` without reading every file.
enum FolderManifest {
    static func digest(of directory: String) -> String {
        scan(directory).digest
    }

    /// The bytes of the regular files under `directory`.
    static func size(of directory: String) -> UInt64 {
        scan(directory).bytes
    }

    private static func scan(_ directory: String) -> (digest: String, bytes: UInt64) {
        var hasher = SHA256()
        var bytes: UInt64 = 0
        let fileManager = FileManager.default
        var entries: [String] = []
        if let enumerator = fileManager.enumerator(atPath: directory) {
            while let relative = enumerator.nextObject() as? String {
                // A file gone while the tree is measured is left out of the estimate; the copy reports real errors.
                let attributes = (try? fileManager.attributesOfItem(atPath: directory + "/" + relative)) ?? [:]
                let type = (attributes[.type] as? FileAttributeType)?.rawValue ?? "?"
                let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                entries.append("\(relative)\u{0}\(type)\u{0}\(size)\u{0}\(modified)")
                if type == FileAttributeType.typeRegular.rawValue { bytes += size }
            }
        }
        for entry in entries.sorted() {
            // (Sorted so that the digest does not depend on the order the folder is listed in.)
            hasher.update(data: Data(entry.utf8))
            hasher.update(data: Data([0x0A]))
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), bytes)
    }
}
