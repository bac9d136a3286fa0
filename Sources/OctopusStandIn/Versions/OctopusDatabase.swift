import Foundation

/// Creating, upgrading and registering nodes in an Octopus database: what `database --create`,
/// `database --upgrade` and a server start do, and what seeding code calls to make a database "of"
/// a version.
public enum OctopusDatabase {
    /// Creates a database as `Octopus.Server database --create` of `version` does: the tables that
    /// version has, its schema scripts in `SchemaVersions`, one `OctopusServerInstallationHistory` row,
    /// the default space (2019.1 and later), a new Installation ID (`Configuration` row
    /// `upgradeavailability`), maintenance mode off (`maintenance`), the server folders under `home`
    /// (`server-folders`), and the master key check value (``SensitiveValues/prepare(database:masterKey:)``).
    ///
    /// To seed sensitive values afterwards, write them as ``MasterKey/encrypt(_:)`` strings into the
    /// `[JSON]` properties listed in ``SensitiveValues/fields``.
    /// - Parameters:
    ///   - dataFolder: The stand-in data folder.
    ///   - server: The SQL Server name (its folder is created when missing).
    ///   - database: The database name; an existing database of that name is replaced.
    ///   - version: The Octopus version whose schema to create (3.0 or later).
    ///   - masterKey: The key sensitive values are encrypted with.
    ///   - home: The instance home folder the default server folders go under; `nil` for none.
    /// - Returns: The open database.
    /// - Throws: ``OctopusDatabaseError`` for a version older than 3.0, ``SQLiteError`` or
    ///   ``MasterKeyError`` from storage; nothing is left behind on error.
    @discardableResult
    public static func create(
        in dataFolder: DataFolder,
        server: String,
        database: String,
        version: StandInVersion,
        masterKey: MasterKey,
        home: String? = nil
    ) throws -> SQLiteDatabase {
        guard version >= SchemaScripts.oldestVersion else {
            throw OctopusDatabaseError(
                "Octopus \(version) keeps its data in RavenDB; the stand-in plays SQL Server databases of "
                    + "Octopus \(SchemaScripts.oldestVersion) and later."
            )
        }
        try dataFolder.createServer(server)
        dataFolder.deleteDatabase(server: server, database: database)
        do {
            let opened = try SQLiteDatabase(
                path: dataFolder.databasePath(server: server, database: database),
                create: true
            )
            try SchemaScripts.apply(SchemaScripts.scripts(from: nil, to: version), to: opened, installing: version)
            let installationID = UUID().uuidString.lowercased()
            try opened.run(
                "INSERT INTO Configuration (Id, [JSON]) VALUES ('upgradeavailability', "
                    + "json_object('InstallationId', ?, 'Enabled', json('true'), 'IncludeStatistics', json('true'))), "
                    + "('maintenance', json_object('IsInMaintenanceMode', json('false')))",
                [.text(installationID)]
            )
            if let home {
                try ServerFolders.defaults(home: home, features: StandInFeatures(version: version)).write(to: opened)
            }
            try SensitiveValues.prepare(database: opened, masterKey: masterKey)
            try dataFolder.recordDatabaseFiles(
                .defaults(database: database, folder: dataFolder.serverFolder(server)),
                server: server,
                database: database
            )
            return opened
        } catch {
            dataFolder.deleteDatabase(server: server, database: database)
            throw error
        }
    }

    /// Upgrades a database to a version as `database --upgrade` does: runs the scripts between its schema
    /// version and `version` and records an installation history row, in one transaction.
    /// - Parameters:
    ///   - database: The database.
    ///   - version: The binary's version.
    /// - Returns: The scripts run (none when the database is already at `version`).
    /// - Throws: ``OctopusDatabaseError`` when the database has no schema version or a newer one;
    ///   ``SQLiteError``.
    @discardableResult
    public static func upgrade(_ database: SQLiteDatabase, to version: StandInVersion) throws -> [SchemaScript] {
        guard let current = try SchemaScripts.schemaVersion(of: database) else {
            throw OctopusDatabaseError(
                "The database \(database.path) has no Octopus schema version (no stand-in row in SchemaVersions), "
                    + "so it cannot be upgraded; create it with `database --create` or restore an Octopus backup."
            )
        }
        guard current <= version else {
            throw OctopusDatabaseError(
                "The database schema is version \(current), newer than this Octopus Server (\(version)); a database "
                    + "cannot be downgraded. Install Octopus Server \(current) or later."
            )
        }
        let scripts = SchemaScripts.scripts(from: current, to: version)
        if !scripts.isEmpty { try SchemaScripts.apply(scripts, to: database, installing: version) }
        return scripts
    }

    /// Makes sure a node has its `OctopusServerNode` row (named `name`), as a server does when it starts
    /// and `node` does when it changes the node's settings.
    /// - Parameters:
    ///   - name: The node name (`create-instance --serverNodeName`).
    ///   - database: The database.
    ///   - isInMaintenanceMode: A new drain setting, or `nil` to keep it.
    ///   - maxConcurrentTasks: A new task cap, or `nil` to keep it.
    /// - Throws: ``SQLiteError``.
    public static func registerNode(
        _ name: String,
        in database: SQLiteDatabase,
        isInMaintenanceMode: Bool? = nil,
        maxConcurrentTasks: Int? = nil
    ) throws {
        try database.withTransaction {
            let existing = try database.query("SELECT Id FROM OctopusServerNode WHERE Name = ?", [.text(name)])
            let id = existing.rows.first?.first?.text ?? "OctopusServerNodes-\(name)"
            if existing.rows.isEmpty {
                try database.run(
                    "INSERT INTO OctopusServerNode (Id, Name, [JSON]) VALUES (?, ?, json_object('Name', ?))",
                    [.text(id), .text(name), .text(name)]
                )
            }
            if let isInMaintenanceMode {
                try database.run(
                    "UPDATE OctopusServerNode SET IsInMaintenanceMode = ?, "
                        + "[JSON] = json_set([JSON], '$.IsInMaintenanceMode', json(?)) WHERE Id = ?",
                    [.integer(isInMaintenanceMode ? 1 : 0), .text(isInMaintenanceMode ? "true" : "false"), .text(id)]
                )
            }
            if let maxConcurrentTasks {
                try database.run(
                    "UPDATE OctopusServerNode SET MaxConcurrentTasks = ?, "
                        + "[JSON] = json_set([JSON], '$.MaxConcurrentTasks', ?) WHERE Id = ?",
                    [.integer(Int64(maxConcurrentTasks)), .integer(Int64(maxConcurrentTasks)), .text(id)]
                )
            }
        }
    }
}

/// An Octopus database cannot be created or upgraded as asked.
public struct OctopusDatabaseError: Error, Sendable, CustomStringConvertible {
    /// One sentence saying what is wrong and what to do.
    public var message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
