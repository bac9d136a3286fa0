import Crypto
import Foundation

/// One backup set's header in a stand-in `.bak` file: what `RESTORE HEADERONLY` and
/// `RESTORE FILELISTONLY` report, plus the Octopus versions and the payload's size and SHA-256.
public struct BackupSetHeader: Sendable, Hashable, Codable {
    /// One installed version, as in `OctopusServerInstallationHistory`.
    public struct Installation: Sendable, Hashable, Codable {
        /// The version, e.g. `2023.3.13026`.
        public var version: String
        /// When it was installed, `YYYY-MM-DD hh:mm:ss` UTC.
        public var installed: String

        enum CodingKeys: String, CodingKey {
            case version = "Version"
            case installed = "Installed"
        }
    }

    /// The header layout's version (1).
    public var formatVersion: Int
    /// `BACKUP … WITH NAME`, or `<database>-Full Database Backup`.
    public var backupName: String
    /// `BACKUP … WITH DESCRIPTION`, or empty.
    public var backupDescription: String
    /// The backed-up database's name.
    public var databaseName: String
    /// The SQL Server name (`-S`) it was backed up from.
    public var serverName: String
    /// The host that took the backup.
    public var machineName: String
    /// The database's file names at backup time.
    public var files: DatabaseFiles
    /// The database's schema version (``SchemaScripts/schemaVersion(of:)``), when it has one.
    public var schemaVersion: String?
    /// The newest installed Octopus version (the first of ``installationHistory``), when any.
    public var octopusVersion: String?
    /// The database's `OctopusServerInstallationHistory`, newest first.
    public var installationHistory: [Installation]
    /// When the backup started, UTC, as SQL Server prints a `datetime` (`2024-01-15 09:30:00.000`).
    public var backupStartDate: String
    /// When the backup finished.
    public var backupFinishDate: String
    /// The payload's size in bytes (the SQLite file).
    public var payloadSize: Int64
    /// Lower-case hex SHA-256 of the payload.
    public var payloadSHA256: String

    enum CodingKeys: String, CodingKey {
        case formatVersion = "FormatVersion"
        case backupName = "BackupName"
        case backupDescription = "BackupDescription"
        case databaseName = "DatabaseName"
        case serverName = "ServerName"
        case machineName = "MachineName"
        case files = "Files"
        case schemaVersion = "SchemaVersion"
        case octopusVersion = "OctopusVersion"
        case installationHistory = "InstallationHistory"
        case backupStartDate = "BackupStartDate"
        case backupFinishDate = "BackupFinishDate"
        case payloadSize = "PayloadSize"
        case payloadSHA256 = "PayloadSHA256"
    }
}

/// A backup set found in a `.bak` file: its header, its position (1-based, `WITH FILE = n`) and where its
/// payload is.
public struct BackupSet: Sendable, Hashable {
    /// The header.
    public var header: BackupSetHeader
    /// The position in the media (`FILE = n`), from 1.
    public var position: Int
    /// The payload's offset in the file.
    public var payloadOffset: UInt64
}

/// The stand-in's `.bak` format: a media file holding one or more backup sets, each
///
/// ```
/// 16 bytes  magic "OCTOSTANDIN-BAK\n"
///  4 bytes  header length N, big-endian
///  N bytes  header, UTF-8 JSON (BackupSetHeader)
///  P bytes  payload: the database's SQLite file (P = PayloadSize, SHA-256 = PayloadSHA256)
/// ```
///
/// `BACKUP DATABASE` appends a set (or replaces the media `WITH FORMAT`/`INIT`); `RESTORE … WITH FILE = n`
/// reads the n-th. Reading checks every set's structure (magic, header, payload length), so a truncated
/// file fails `RESTORE HEADERONLY` already; restoring also checks the payload's SHA-256.
public enum BackupFile {
    /// The magic that starts every backup set.
    public static let magic = Array("OCTOSTANDIN-BAK\n".utf8)
    /// The header layout written.
    public static let formatVersion = 1
    private static let maximumHeaderLength: UInt32 = 1 << 20

    /// Reads the backup sets of a media file, checking their structure (not the payload checksums).
    /// - Parameter path: The `.bak` file.
    /// - Returns: The sets, in position order.
    /// - Throws: ``BackupError`` (``BackupError/Code/cannotOpen``, ``BackupError/Code/malformed``).
    public static func readSets(_ path: String) throws(BackupError) -> [BackupSet] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError(
                .cannotOpen,
                path: path,
                detail: FileManager.default.fileExists(atPath: path)
                    ? "Operating system error 5(Access is denied.)"
                    : "Operating system error 2(The system cannot find the file specified.)"
            )
        }
        defer { try? handle.close() }
        let size: UInt64
        do {
            size = try handle.seekToEnd()
        } catch {
            throw BackupError(.cannotOpen, path: path, detail: "Operating system error: \(error)")
        }
        var sets: [BackupSet] = []
        var offset: UInt64 = 0
        while offset < size {
            let position = sets.count + 1
            func malformed(_ detail: String) -> BackupError {
                BackupError(.malformed, path: path, detail: "backup set \(position) at byte \(offset): \(detail)")
            }
            let prefix = try read(handle, at: offset, count: magic.count + 4, path: path)
            guard prefix.count == magic.count + 4 else {
                throw malformed("the file ends inside the set's header; it is truncated")
            }
            guard Array(prefix.prefix(magic.count)) == magic else {
                throw malformed(
                    "no stand-in backup set starts here; this is not a stand-in .bak file, or it is damaged"
                )
            }
            let length = prefix.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard length > 0, length <= maximumHeaderLength else {
                throw malformed("the header length \(length) is impossible; the file is damaged")
            }
            let headerOffset = offset + UInt64(magic.count + 4)
            let headerData = try read(handle, at: headerOffset, count: Int(length), path: path)
            guard headerData.count == Int(length) else {
                throw malformed("the file ends inside the set's header; it is truncated")
            }
            let header: BackupSetHeader
            do {
                header = try JSONDecoder().decode(BackupSetHeader.self, from: headerData)
            } catch {
                throw malformed("the header is not readable (\(error)); the file is damaged")
            }
            guard header.formatVersion == formatVersion else {
                throw malformed("the set has format version \(header.formatVersion); this stand-in reads version 1")
            }
            let payloadOffset = headerOffset + UInt64(length)
            guard header.payloadSize >= 0, payloadOffset + UInt64(header.payloadSize) <= size else {
                throw malformed(
                    "the set's \(header.payloadSize)-byte database ends at byte "
                        + "\(payloadOffset + UInt64(max(header.payloadSize, 0))) but the file has \(size) bytes; "
                        + "it is truncated (copy it again)"
                )
            }
            sets.append(BackupSet(header: header, position: position, payloadOffset: payloadOffset))
            offset = payloadOffset + UInt64(header.payloadSize)
        }
        guard !sets.isEmpty else {
            throw BackupError(.malformed, path: path, detail: "the file is empty")
        }
        return sets
    }

    /// Copies a set's payload (the SQLite file) to a new file, checking its SHA-256 on the way.
    /// - Parameters:
    ///   - set: A set from ``readSets(_:)``.
    ///   - path: The `.bak` file.
    ///   - destination: The file to write (replaced); removed again when the check fails.
    /// - Throws: ``BackupError`` (``BackupError/Code/damaged`` when the checksum differs).
    public static func extractPayload(of set: BackupSet, from path: String, to destination: String) throws(BackupError)
    {
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw BackupError(
                .cannotOpen,
                path: path,
                detail: "Operating system error 2(The system cannot find the file specified.)"
            )
        }
        defer { try? input.close() }
        _ = FileManager.default.createFile(atPath: destination, contents: nil)
        guard let output = FileHandle(forWritingAtPath: destination) else {
            throw BackupError(.cannotWrite, path: destination, detail: "cannot create the file")
        }
        var hasher = SHA256()
        var remaining = UInt64(set.header.payloadSize)
        do {
            defer { try? output.close() }
            try input.seek(toOffset: set.payloadOffset)
            while remaining > 0 {
                let chunk = try input.read(upToCount: Int(min(remaining, 1 << 20))) ?? Data()
                guard !chunk.isEmpty else { break }
                hasher.update(data: chunk)
                try output.write(contentsOf: chunk)
                remaining -= UInt64(chunk.count)
            }
            try output.synchronize()
        } catch {
            unlink(destination)
            throw BackupError(.cannotWrite, path: destination, detail: "\(error)")
        }
        let digest = hex(hasher.finalize())
        guard remaining == 0, digest == set.header.payloadSHA256 else {
            unlink(destination)
            throw BackupError(
                .damaged,
                path: path,
                detail: "backup set \(set.position)'s database has SHA-256 \(digest), not \(set.header.payloadSHA256) "
                    + "as its header records; the file is damaged (copy it again)"
            )
        }
    }

    /// Checks a set's payload checksum without restoring it (`RESTORE VERIFYONLY`).
    /// - Throws: ``BackupError``.
    public static func verifyPayload(of set: BackupSet, in path: String) throws(BackupError) {
        let scratch = "\((path as NSString).deletingLastPathComponent)/.verify-\(getpid())-\(UUID().uuidString)"
        let temporary =
            FileManager.default.isWritableFile(atPath: (path as NSString).deletingLastPathComponent)
            ? scratch : NSTemporaryDirectory() + "verify-\(getpid())-\(UUID().uuidString)"
        defer { unlink(temporary) }
        try extractPayload(of: set, from: path, to: temporary)
    }

    /// Writes a backup set to a media file: appended to the sets already there, or replacing the file.
    /// - Parameters:
    ///   - header: The set's header (payload size and checksum are filled in from `payload`).
    ///   - payload: The SQLite file to store (a consistent copy, e.g. from `VACUUM INTO`).
    ///   - path: The `.bak` file.
    ///   - append: Whether to keep the sets already in the file (`NOINIT`, SQL Server's default).
    /// - Returns: The set's position in the media.
    /// - Throws: ``BackupError`` (``BackupError/Code/cannotOpen`` when the folder does not exist,
    ///   ``BackupError/Code/malformed`` when appending to a file that is not a valid media).
    @discardableResult
    public static func write(
        _ header: BackupSetHeader,
        payload: String,
        to path: String,
        append: Bool
    ) throws(BackupError) -> Int {
        let folder = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder),
            isFolder.boolValue
        else {
            throw BackupError(
                .cannotOpen,
                path: path,
                detail: "Operating system error 3(The system cannot find the path specified.)"
            )
        }
        let existing = append && FileManager.default.fileExists(atPath: path) ? try readSets(path) : []
        var header = header
        let digest: (size: Int64, sha256: String)
        do {
            digest = try sha256(of: payload)
        } catch {
            throw BackupError(.cannotWrite, path: payload, detail: "\(error)")
        }
        header.payloadSize = digest.size
        header.payloadSHA256 = digest.sha256
        header.formatVersion = formatVersion
        let part = "\(path).part-\(getpid())"
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let headerData = try encoder.encode(header)
            if existing.isEmpty {
                _ = FileManager.default.createFile(atPath: part, contents: nil)
            } else {
                try? FileManager.default.removeItem(atPath: part)
                try FileManager.default.copyItem(atPath: path, toPath: part)
            }
            guard let output = FileHandle(forWritingAtPath: part) else {
                throw BackupError(.cannotOpen, path: path, detail: "Operating system error 5(Access is denied.)")
            }
            defer { try? output.close() }
            try output.seekToEnd()
            let length = UInt32(headerData.count)
            try output.write(contentsOf: Data(magic + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) }))
            try output.write(contentsOf: headerData)
            guard let input = FileHandle(forReadingAtPath: payload) else {
                throw BackupError(.cannotWrite, path: payload, detail: "cannot read the database copy")
            }
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try output.write(contentsOf: chunk)
            }
            try output.synchronize()
        } catch let error as BackupError {
            unlink(part)
            throw error
        } catch {
            unlink(part)
            throw BackupError(.cannotWrite, path: path, detail: "\(error)")
        }
        guard rename(part, path) == 0 else {
            let text = String(cString: strerror(errno))
            unlink(part)
            throw BackupError(.cannotWrite, path: path, detail: text)
        }
        return existing.count + 1
    }

    private static func read(
        _ handle: FileHandle,
        at offset: UInt64,
        count: Int,
        path: String
    ) throws(BackupError) -> Data {
        do {
            try handle.seek(toOffset: offset)
            return try handle.read(upToCount: count) ?? Data()
        } catch {
            throw BackupError(.cannotOpen, path: path, detail: "Operating system error: \(error)")
        }
    }

    private static func sha256(of path: String) throws -> (size: Int64, sha256: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError(.cannotWrite, path: path, detail: "cannot read the database copy")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hex(hasher.finalize()))
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// A `.bak` file that cannot be read or written.
public struct BackupError: Error, Sendable, CustomStringConvertible {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case cannotOpen
            case malformed
            case damaged
            case cannotWrite
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The file or its folder does not exist or cannot be opened (SQL Server Msg 3201).
        public static let cannotOpen = Code(.cannotOpen)
        /// The file is not a stand-in media file, or is truncated (Msg 3241).
        public static let malformed = Code(.malformed)
        /// A payload's checksum does not match its header (Msg 3189).
        public static let damaged = Code(.damaged)
        /// Writing a file failed.
        public static let cannotWrite = Code(.cannotWrite)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// The file concerned.
    public var path: String
    /// What exactly is wrong.
    public var detail: String

    init(_ code: Code, path: String, detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)." }
}
