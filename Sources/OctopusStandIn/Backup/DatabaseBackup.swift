import Foundation

/// What a backup or restore did, for sqlcmd's "Processed N pages …" messages.
public struct BackupTransfer: Sendable, Hashable {
    /// The database name.
    public var database: String
    /// The backup set's position in the media (`on file N`).
    public var position: Int
    /// The logical names of the data and log files.
    public var files: DatabaseFiles
    /// The data file's size in bytes.
    public var bytes: Int64
    /// How long it took.
    public var seconds: Double

    /// SQL Server pages (8 KiB) in the data file.
    public var dataPages: Int { Int((bytes + 8191) / 8192) }
    /// Pages of log the stand-in reports (it keeps no log).
    public var logPages: Int { 2 }

    /// The messages SQL Server prints after `BACKUP DATABASE` or `RESTORE DATABASE`.
    func messages(verb: String) -> [String] {
        let pages = dataPages + logPages
        let megabytes = Double(pages) * 8192 / 1_048_576
        let rate = megabytes / max(seconds, 0.001)
        return [
            "Processed \(dataPages) pages for database '\(database)', file '\(files.data.logicalName)' on file \(position).",
            "Processed \(logPages) pages for database '\(database)', file '\(files.log.logicalName)' on file \(position).",
            "\(verb) successfully processed \(pages) pages in \(String(format: "%.3f", seconds)) seconds "
                + "(\(String(format: "%.3f", rate)) MB/sec).",
        ]
    }
}

/// `BACKUP DATABASE` and `RESTORE DATABASE` on the stand-in's data folder, with SQL Server's errors
/// (as ``TSQLError``s with line 1; the caller sets the statement's line and adds Msg 3013).
public enum DatabaseBackup {
    /// Backs a database up to a `.bak` file, as `BACKUP DATABASE [db] TO DISK = N'path'` does.
    ///
    /// The payload is a consistent copy of the SQLite file (`VACUUM INTO`); the header records the
    /// database's file names, schema version and installation history.
    /// - Parameters:
    ///   - dataFolder: The stand-in data folder.
    ///   - server: The server (`-S`).
    ///   - database: The database to back up.
    ///   - path: The `.bak` file.
    ///   - append: Keep the sets already in the file (SQL Server's default, `NOINIT`); `false` for `INIT` or
    ///     `FORMAT`.
    ///   - name: `WITH NAME`, or `nil` for `<db>-Full Database Backup`.
    ///   - description: `WITH DESCRIPTION`, or `nil`.
    /// - Returns: What was written.
    /// - Throws: ``TSQLError`` (Msg 911 unknown database, 3201 no such folder, 3241 appending to a damaged
    ///   file, 50000 storage failures).
    @discardableResult
    public static func backup(
        dataFolder: DataFolder,
        server: String,
        database: String,
        to path: String,
        append: Bool = true,
        name: String? = nil,
        description: String? = nil
    ) throws(TSQLError) -> BackupTransfer {
        let started = Date()
        guard database.lowercased() != "master", dataFolder.databaseExists(server: server, database: database) else {
            if database.lowercased() == "master" {
                throw .unsupported("BACKUP DATABASE [master]", line: 1)
            }
            throw TSQLError(
                .unknownDatabase,
                number: 911,
                line: 1,
                message: "Database '\(database)' does not exist. Make sure that the name is entered correctly."
            )
        }
        let folder = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder),
            isFolder.boolValue
        else {
            throw backupError(
                BackupError(
                    .cannotOpen,
                    path: path,
                    detail: "Operating system error 3(The system cannot find the path specified.)"
                )
            )
        }
        let copy = "\(folder.isEmpty ? "." : folder)/.\((path as NSString).lastPathComponent).vacuum-\(getpid())"
        defer { unlink(copy) }
        var header: BackupSetHeader
        do {
            unlink(copy)
            let source = try dataFolder.open(server: server, database: database)
            try source.run("VACUUM INTO ?", [.text(copy)])
            let history = try SchemaScripts.installationHistory(of: source)
            header = BackupSetHeader(
                formatVersion: BackupFile.formatVersion,
                backupName: name ?? "\(database)-Full Database Backup",
                backupDescription: description ?? "",
                databaseName: database,
                serverName: server,
                machineName: ProcessInfo.processInfo.hostName,
                files: dataFolder.databaseFiles(server: server, database: database),
                schemaVersion: try SchemaScripts.schemaVersion(of: source)?.description,
                octopusVersion: history.first?.version,
                installationHistory: history.map { .init(version: $0.version, installed: $0.installed) },
                backupStartDate: Self.timestamp(started),
                backupFinishDate: Self.timestamp(Date()),
                payloadSize: 0,
                payloadSHA256: ""
            )
        } catch {
            throw TSQLError(
                .storage,
                number: TSQLError.unsupportedNumber,
                line: 1,
                message: "The stand-in cannot copy database '\(database)': \(error)"
            )
        }
        let position: Int
        do {
            position = try BackupFile.write(header, payload: copy, to: path, append: append)
        } catch {
            throw backupError(error)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: copy)[.size] as? NSNumber)?.int64Value
        return BackupTransfer(
            database: database,
            position: position,
            files: header.files,
            bytes: size ?? 0,
            seconds: Date().timeIntervalSince(started)
        )
    }

    /// Restores a database from a `.bak` file, as `RESTORE DATABASE [db] FROM DISK = N'path' WITH FILE = n,
    /// MOVE …, REPLACE` does. The restore is all or nothing: the payload is copied and checked beside the
    /// database, then renamed over it.
    /// - Parameters:
    ///   - dataFolder: The stand-in data folder.
    ///   - server: The server (`-S`).
    ///   - database: The database to create or replace.
    ///   - path: The `.bak` file.
    ///   - position: `WITH FILE = n` (1 when absent).
    ///   - moves: `WITH MOVE N'logical' TO N'physical'`, in order.
    ///   - replace: `WITH REPLACE`.
    /// - Returns: What was restored.
    /// - Throws: ``TSQLError``: Msg 3201 (no file), 3241 (not a media file, truncated), 4038 (no such
    ///   position), 3154/3159 (existing database without `REPLACE`), 3234 (unknown logical name), 5133 and
    ///   1834 (bad or taken physical name), 3189 (damaged payload).
    @discardableResult
    public static func restore(
        dataFolder: DataFolder,
        server: String,
        database: String,
        from path: String,
        position: Int = 1,
        moves: [(logical: String, physical: String)] = [],
        replace: Bool = false
    ) throws(TSQLError) -> BackupTransfer {
        let started = Date()
        let set = try backupSet(in: path, position: position)
        let source = set.header
        guard database.lowercased() != "master" else {
            throw .unsupported("RESTORE DATABASE [master]", line: 1)
        }
        let exists = dataFolder.databaseExists(server: server, database: database)
        if exists && !replace {
            if source.databaseName.lowercased() != database.lowercased() {
                throw TSQLError(
                    .storage,
                    number: 3154,
                    line: 1,
                    message:
                        "The backup set holds a backup of a database other than the existing '\(database)' database."
                )
            }
            throw TSQLError(
                .storage,
                number: 3159,
                line: 1,
                message:
                    "The tail of the log for the database \"\(database)\" has not been backed up. Use BACKUP LOG WITH "
                    + "NORECOVERY to backup the log if it contains work you do not want to lose. Use the WITH REPLACE or "
                    + "WITH STOPAT clause of the RESTORE statement to just overwrite the contents of the log."
            )
        }
        var files = source.files
        for move in moves {
            if move.logical.lowercased() == files.data.logicalName.lowercased() {
                files.data.physicalName = move.physical
            } else if move.logical.lowercased() == files.log.logicalName.lowercased() {
                files.log.physicalName = move.physical
            } else {
                throw TSQLError(
                    .storage,
                    number: 3234,
                    line: 1,
                    message: "Logical file '\(move.logical)' is not part of database '\(database)'. Use RESTORE "
                        + "FILELISTONLY to list the logical file names."
                )
            }
        }
        for file in [files.data, files.log] {
            let folder = (file.physicalName as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            guard file.physicalName.hasPrefix("/"),
                FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue
            else {
                var error = TSQLError(
                    .storage,
                    number: 5133,
                    line: 1,
                    message: "Directory lookup for the file \"\(file.physicalName)\" failed with the operating system "
                        + "error 3(The system cannot find the path specified.)."
                )
                error.followUps = [cannotRestore(file)]
                throw error
            }
            for other in dataFolder.databases(server: server) where other != database.lowercased() {
                let taken = dataFolder.databaseFiles(server: server, database: other)
                // Compared case-insensitively, as on SQL Server's Windows file systems.
                let names = [taken.data.physicalName, taken.log.physicalName].map { $0.lowercased() }
                if names.contains(file.physicalName.lowercased()) {
                    var error = TSQLError(
                        .storage,
                        number: 1834,
                        line: 1,
                        message: "The file '\(file.physicalName)' cannot be overwritten.  It is being used by database "
                            + "'\(taken.databaseName ?? other)'."
                    )
                    error.followUps = [cannotRestore(file)]
                    throw error
                }
            }
        }
        let target = dataFolder.databasePath(server: server, database: database)
        let scratch = "\(dataFolder.serverFolder(server))/.restore-\(database.lowercased())-\(getpid()).sqlite"
        defer { unlink(scratch) }
        do {
            try BackupFile.extractPayload(of: set, from: path, to: scratch)
        } catch {
            throw backupError(error)
        }
        do {
            let check = try SQLiteDatabase(path: scratch)
            let result = try check.query("PRAGMA quick_check").rows.first?.first?.text
            guard result == "ok" else {
                throw BackupError(
                    .damaged,
                    path: path,
                    detail: "the database in backup set \(set.position) fails SQLite's check (\(result ?? "no answer"))"
                )
            }
        } catch let error as BackupError {
            throw backupError(error)
        } catch {
            throw backupError(
                BackupError(
                    .damaged,
                    path: path,
                    detail: "the database in backup set \(set.position) cannot be opened (\(error))"
                )
            )
        }
        for suffix in ["-journal", "-wal", "-shm"] { unlink(target + suffix) }
        guard rename(scratch, target) == 0 else {
            throw TSQLError(
                .storage,
                number: TSQLError.unsupportedNumber,
                line: 1,
                message:
                    "The stand-in cannot move the restored database into place at \(target): \(String(cString: strerror(errno)))."
            )
        }
        do {
            try dataFolder.recordDatabaseFiles(files, server: server, database: database)
        } catch {
            dataFolder.deleteDatabase(server: server, database: database)
            throw TSQLError(
                .storage,
                number: TSQLError.unsupportedNumber,
                line: 1,
                message: "The stand-in cannot record the file names of '\(database)': \(error)."
            )
        }
        return BackupTransfer(
            database: database,
            position: set.position,
            files: files,
            bytes: source.payloadSize,
            seconds: Date().timeIntervalSince(started)
        )
    }

    /// The backup sets of a media file, with SQL Server's errors.
    /// - Throws: ``TSQLError`` (Msg 3201, 3241).
    public static func backupSets(in path: String) throws(TSQLError) -> [BackupSet] {
        do {
            return try BackupFile.readSets(path)
        } catch {
            throw backupError(error)
        }
    }

    /// One backup set of a media file (`WITH FILE = n`).
    /// - Throws: ``TSQLError`` (Msg 3201, 3241, 4038).
    public static func backupSet(in path: String, position: Int) throws(TSQLError) -> BackupSet {
        let sets = try backupSets(in: path)
        guard position >= 1, position <= sets.count else {
            throw TSQLError(
                .storage,
                number: 4038,
                line: 1,
                message: "Cannot find file ID \(position) on device '\(path)'."
            )
        }
        return sets[position - 1]
    }

    /// Checks one backup set completely, payload checksum included (`RESTORE VERIFYONLY`).
    /// - Returns: The set.
    /// - Throws: ``TSQLError`` (Msg 3201, 3241, 4038, 3189).
    @discardableResult
    public static func verify(in path: String, position: Int) throws(TSQLError) -> BackupSet {
        let set = try backupSet(in: path, position: position)
        do {
            try BackupFile.verifyPayload(of: set, in: path)
        } catch {
            throw backupError(error)
        }
        return set
    }

    /// A ``BackupError`` as SQL Server's message.
    static func backupError(_ error: BackupError) -> TSQLError {
        switch error.code {
        case .cannotOpen:
            return TSQLError(
                .storage,
                number: 3201,
                line: 1,
                message: "Cannot open backup device '\(error.path)'. \(error.detail)."
            )
        case .damaged:
            return TSQLError(
                .storage,
                number: 3189,
                line: 1,
                message: "Damage to the backup set was detected (stand-in: \(error.detail))."
            )
        case .malformed:
            return TSQLError(
                .storage,
                number: 3241,
                line: 1,
                message: "The media family on device '\(error.path)' is incorrectly formed. SQL Server cannot process "
                    + "this media family (stand-in: \(error.detail))."
            )
        default:
            return TSQLError(
                .storage,
                number: TSQLError.unsupportedNumber,
                line: 1,
                message: "The stand-in cannot write '\(error.path)': \(error.detail)."
            )
        }
    }

    private static func cannotRestore(_ file: DatabaseFiles.File) -> TSQLError {
        TSQLError(
            .storage,
            number: 3156,
            line: 1,
            message:
                "File '\(file.logicalName)' cannot be restored to '\(file.physicalName)'. Use WITH MOVE to identify "
                + "a valid location for the file."
        )
    }

    /// A UTC time as SQL Server prints a `datetime`: `2024-01-15 09:30:00.000`.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return formatter.string(from: date)
    }
}
