import Foundation

/// A database's two SQL Server files as `RESTORE FILELISTONLY` reports them: the data file (type `D`)
/// and the log file (type `L`), each with a logical name (fixed at creation, kept by backup and restore)
/// and a physical name (where SQL Server put it; `RESTORE … WITH MOVE` changes it).
///
/// The stand-in keeps the data itself in `<server>/<database>.sqlite`; these names live beside it in
/// `<server>/<database>.files.json`. A database without that file has the names SQL Server would give a
/// new database: logical `<db>` and `<db>_log`, physical `<server folder>/<db>.mdf` and `<db>_log.ldf`.
public struct DatabaseFiles: Sendable, Hashable, Codable {
    /// One file.
    public struct File: Sendable, Hashable, Codable {
        /// The logical name, e.g. `OctopusDeploy`.
        public var logicalName: String
        /// The physical path, e.g. `/var/opt/mssql/data/OctopusDeploy.mdf`.
        public var physicalName: String

        /// - Parameters:
        ///   - logicalName: The logical name.
        ///   - physicalName: The physical path.
        public init(logicalName: String, physicalName: String) {
            self.logicalName = logicalName
            self.physicalName = physicalName
        }

        enum CodingKeys: String, CodingKey {
            case logicalName = "LogicalName"
            case physicalName = "PhysicalName"
        }
    }

    /// The data file (type `D`, file group `PRIMARY`).
    public var data: File
    /// The log file (type `L`).
    public var log: File
    /// The database's name as it was created or restored (file names are lower-case).
    public var databaseName: String?

    /// - Parameters:
    ///   - data: The data file.
    ///   - log: The log file.
    ///   - databaseName: The database's name, as created.
    public init(data: File, log: File, databaseName: String? = nil) {
        self.data = data
        self.log = log
        self.databaseName = databaseName
    }

    enum CodingKeys: String, CodingKey {
        case data = "Data"
        case log = "Log"
        case databaseName = "DatabaseName"
    }

    /// The names SQL Server gives a new database in a folder.
    public static func defaults(database: String, folder: String) -> DatabaseFiles {
        DatabaseFiles(
            data: File(logicalName: database, physicalName: "\(folder)/\(database).mdf"),
            log: File(logicalName: "\(database)_log", physicalName: "\(folder)/\(database)_log.ldf"),
            databaseName: database
        )
    }
}

extension DataFolder {
    /// The file holding a database's ``DatabaseFiles``.
    public func databaseFilesPath(server: String, database: String) -> String {
        "\(serverFolder(server))/\(database.lowercased()).files.json"
    }

    /// A database's logical and physical file names (recorded, or SQL Server's defaults).
    public func databaseFiles(server: String, database: String) -> DatabaseFiles {
        if let data = FileManager.default.contents(atPath: databaseFilesPath(server: server, database: database)),
            let files = try? JSONDecoder().decode(DatabaseFiles.self, from: data)
        {
            return files
        }
        return .defaults(database: database, folder: serverFolder(server))
    }

    /// Records a database's logical and physical file names.
    /// - Throws: Foundation's error when the file cannot be written.
    public func recordDatabaseFiles(_ files: DatabaseFiles, server: String, database: String) throws {
        var files = files
        files.databaseName = database
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(files).write(
            to: URL(fileURLWithPath: databaseFilesPath(server: server, database: database)),
            options: .atomic
        )
    }

    /// The databases of a server (file names, lower-case), without `master`.
    public func databases(server: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: serverFolder(server))) ?? []
        return names.filter { $0.hasSuffix(".sqlite") && !$0.hasPrefix(".") }.map { String($0.dropLast(7)) }
            .filter { $0 != "master" }.sorted()
    }

    /// Drops a database: removes its SQLite file (and SQLite's journal files) and its file names.
    /// - Returns: Whether there was a database to drop.
    @discardableResult
    public func deleteDatabase(server: String, database: String) -> Bool {
        let path = databasePath(server: server, database: database)
        let existed = FileManager.default.fileExists(atPath: path)
        for file in [path, "\(path)-journal", "\(path)-wal", "\(path)-shm"] {
            try? FileManager.default.removeItem(atPath: file)
        }
        try? FileManager.default.removeItem(atPath: databaseFilesPath(server: server, database: database))
        return existed
    }
}
