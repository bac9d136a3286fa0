import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Appends lines to a log file, creating its folder: the server log (`<home>/Logs/OctopusServer.txt`),
/// the start audit and task logs. Each line is written with one `write(2)` on an `O_APPEND` descriptor,
/// so lines from several threads (or processes) never interleave.
///
/// `@unchecked Sendable`: the descriptor is set once in `init` and only written to afterwards.
final class StandInLogFile: @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    /// Opens (creating) the file for appending.
    /// - Throws: ``StandInServerError`` with code ``StandInServerError/Code/logUnwritable``.
    init(path: String) throws(StandInServerError) {
        self.path = path
        try Self.makeFolder(containing: path)
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StandInServerError(
                .logUnwritable,
                "Cannot open the log file \(path): \(String(cString: strerror(errno))); check the home folder's permissions."
            )
        }
    }

    deinit {
        close(descriptor)
    }

    /// Appends one line (a newline is added).
    func append(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Creates the folders above a file.
    static func makeFolder(containing path: String) throws(StandInServerError) {
        let folder = (path as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StandInServerError(
                .logUnwritable,
                "Cannot create the folder \(folder): \(error.localizedDescription); check the home folder's permissions."
            )
        }
    }
}

/// The server log: `2026-11-24 16:21:01.123 +00:00  INFO  message`, like Octopus's `OctopusServer.txt`.
final class StandInServerLog: Sendable {
    private let file: StandInLogFile

    init(path: String) throws(StandInServerError) {
        file = try StandInLogFile(path: path)
    }

    /// Writes an informational line.
    func info(_ message: String) { write("INFO", message) }
    /// Writes a warning line.
    func warn(_ message: String) { write("WARN", message) }
    /// Writes an error line.
    func error(_ message: String) { write("ERROR", message) }

    private func write(_ level: String, _ message: String) {
        let stamp = OctopusTime.timestamp().replacingOccurrences(of: "T", with: " ")
            .replacingOccurrences(of: "+00:00", with: " +00:00")
        let padded = level.padding(toLength: 5, withPad: " ", startingAt: 0)
        file.append("\(stamp)  \(padded)  \(message)")
    }
}
