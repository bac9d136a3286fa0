import Foundation

/// One database upgrade script, as DbUp records it in `SchemaVersions.ScriptName`:
/// `Script<version>-<NNNN>-<Name>`, e.g. `Script2019.1.0-0001-AddSpaces`.
public struct SchemaScript: Sendable, Hashable, CustomStringConvertible {
    /// The release that ships the script.
    public let version: StandInVersion
    /// Its order within the release.
    public let number: Int
    /// What it does, e.g. `AddSpaces`.
    public let name: String

    /// - Parameters:
    ///   - version: The release that ships the script.
    ///   - number: Its order within the release (1 to 9999).
    ///   - name: What it does, letters and digits.
    public init(version: StandInVersion, number: Int, name: String) {
        self.version = version
        self.number = number
        self.name = name
    }

    /// The `SchemaVersions.ScriptName` value.
    public var scriptName: String { "Script\(version)-\(String(format: "%04d", number))-\(name)" }

    public var description: String { scriptName }

    /// Reads a `ScriptName` written by the stand-in; `nil` for any other name.
    public init?(scriptName: String) {
        guard scriptName.hasPrefix("Script") else { return nil }
        let parts = scriptName.dropFirst(6).split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let version = StandInVersion(String(parts[0])), parts[1].count == 4,
            let number = Int(parts[1]), !parts[2].isEmpty
        else { return nil }
        self.init(version: version, number: number, name: String(parts[2]))
    }
}

/// The stand-in's schema history: the scripts each release ships, which scripts take a database from
/// one version to another, and the schema version a database is at.
///
/// A release's scripts are the milestones below (the schema changes the facts name) plus one
/// `Script<release>-9999-Release` of its own, so every version, patches included, has a distinct schema
/// version. The **schema version of a database** is the version in the `ScriptName` of the last row
/// written to `SchemaVersions` (insertion order); rows whose names the stand-in did not write are
/// ignored.
public enum SchemaScripts {
    /// The oldest version the stand-in plays: Octopus 3.0 moved from RavenDB to SQL Server.
    public static let oldestVersion = StandInVersion.known("3.0.0")

    /// The schema changes, in order.
    static let milestones: [SchemaScript] = [
        SchemaScript(version: .known("3.0.0"), number: 1, name: "CreateSchema"),
        SchemaScript(version: StandInFeatures.Since.workers, number: 1, name: "AddWorkers"),
        SchemaScript(version: StandInFeatures.Since.spaces, number: 1, name: "AddSpaces"),
        SchemaScript(version: StandInFeatures.Since.nodeStatusTable, number: 1, name: "SplitNodeStatus"),
    ]

    /// The script every release has of its own.
    public static func releaseScript(_ version: StandInVersion) -> SchemaScript {
        SchemaScript(version: version, number: 9999, name: "Release")
    }

    /// The scripts that take a database from one version to another, in the order they run.
    /// - Parameters:
    ///   - from: The database's schema version; `nil` for an empty database.
    ///   - to: The binary's version.
    /// - Returns: Milestones after `from` up to `to`, then `to`'s release script (nothing when `from` is
    ///   not older than `to`).
    public static func scripts(from: StandInVersion?, to: StandInVersion) -> [SchemaScript] {
        if let from, from >= to { return [] }
        let milestones = milestones.filter { script in
            script.version <= to && from.map { script.version > $0 } ?? true
        }
        return milestones + [releaseScript(to)]
    }

    /// The schema version of a database: the version of the last stand-in script recorded in
    /// `SchemaVersions`.
    /// - Returns: `nil` when the database has no `SchemaVersions` table or no row the stand-in wrote.
    /// - Throws: ``SQLiteError``.
    public static func schemaVersion(of database: SQLiteDatabase) throws -> StandInVersion? {
        guard try database.tableExists("SchemaVersions") else { return nil }
        let rows = try database.query("SELECT ScriptName FROM SchemaVersions ORDER BY rowid DESC")
        for row in rows.rows {
            if let name = row.first?.text, let script = SchemaScript(scriptName: name) { return script.version }
        }
        return nil
    }

    /// The Octopus versions installed over a database, newest first, from `OctopusServerInstallationHistory`
    /// (what the docs' `SELECT TOP 5 [Version] … ORDER BY Installed desc` shows).
    /// - Throws: ``SQLiteError``.
    public static func installationHistory(of database: SQLiteDatabase) throws -> [(version: String, installed: String)]
    {
        guard try database.tableExists("OctopusServerInstallationHistory") else { return [] }
        let rows = try database.query(
            "SELECT [Version], COALESCE([Installed], '') FROM OctopusServerInstallationHistory "
                + "ORDER BY [Installed] DESC, rowid DESC"
        )
        return rows.rows.map { (version: $0[0].description, installed: $0[1].description) }
    }

    /// Runs scripts on a database and records them, with an installation history row for `version`, in
    /// one transaction (rolled back on error, as DbUp's upgrade is), then the always-run script
    /// (``ProjectDocuments/upgradeModel(in:)``), which is not journaled.
    /// - Parameters:
    ///   - scripts: From ``scripts(from:to:)``.
    ///   - database: The database.
    ///   - version: The version being installed.
    /// - Throws: ``SQLiteError``.
    static func apply(_ scripts: [SchemaScript], to database: SQLiteDatabase, installing version: StandInVersion) throws
    {
        try database.withTransaction {
            for script in scripts {
                try run(script, on: database)
                try database.run(
                    "INSERT INTO SchemaVersions (Id, ScriptName, Applied, [JSON]) VALUES "
                        + "((SELECT CAST(COALESCE(MAX(rowid), 0) + 1 AS TEXT) FROM SchemaVersions), ?, "
                        + "strftime('%Y-%m-%d %H:%M:%f', 'now'), '{}')",
                    [.text(script.scriptName)]
                )
            }
            // The stand-in's always-run script: tables and columns later stand-in builds added to the model.
            try ProjectDocuments.upgradeModel(in: database)
            try database.run(
                "INSERT INTO OctopusServerInstallationHistory (Id, [Version], Installed, [JSON]) VALUES "
                    + "((SELECT CAST(COALESCE(MAX(rowid), 0) + 1 AS TEXT) FROM OctopusServerInstallationHistory), ?, "
                    + "strftime('%Y-%m-%d %H:%M:%f', 'now'), json_object('Version', ?))",
                [.text(version.description), .text(version.description)]
            )
        }
    }

    private static func run(_ script: SchemaScript, on database: SQLiteDatabase) throws {
        func createTables(_ names: Set<String>) throws {
            for table in OctopusSchema.tables where names.contains(table.name) {
                if try !database.tableExists(table.name) { try database.execute(table.createStatement) }
            }
        }
        switch (script.version, script.number, script.name) {
        case (oldestVersion, 1, "CreateSchema"):
            let gated = StandInFeatures(version: oldestVersion).absentTables
            try createTables(Set(OctopusSchema.tables.map(\.name)).subtracting(gated))
        case (StandInFeatures.Since.workers, 1, "AddWorkers"):
            try createTables(["Worker", "WorkerPool"])
        case (StandInFeatures.Since.spaces, 1, "AddSpaces"):
            try createTables(["Space"])
            try database.run(
                "INSERT OR IGNORE INTO Space (Id, Name, IsDefault, [JSON]) VALUES ('Spaces-1', 'Default', 1, "
                    + "'{\"Name\":\"Default\",\"IsDefault\":true,\"TaskQueueStopped\":false}')"
            )
            for table in OctopusSchema.tables where table.columns.contains(where: { $0.hasPrefix("[SpaceId]") }) {
                if try database.tableExists(table.name) {
                    try database.run("UPDATE [\(table.name)] SET SpaceId = 'Spaces-1' WHERE SpaceId IS NULL")
                }
            }
        case (StandInFeatures.Since.nodeStatusTable, 1, "SplitNodeStatus"):
            try createTables(["OctopusServerNodeStatus"])
        default:
            // A release script: the release's own (unmodelled) schema changes.
            break
        }
    }
}
