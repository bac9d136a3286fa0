/// The Octopus tables the stand-in stores, named as Octopus names them.
///
/// Each table has an `Id` text primary key, the real columns the docs' SQL reads or writes
/// (`IsDisabled`, `Name`, `SpaceId`, `State`, `Version`/`Installed`, `ScriptName`/`Applied`), and the
/// `[JSON]` document column Octopus keeps everything else in (octopus-facts.md §3.3, §1.3, §5.4).
/// Text columns compare case-insensitively, like SQL Server's default collation.
public enum OctopusSchema {
    /// One table: its name and its columns other than `Id` and `JSON`.
    public struct Table: Sendable, Hashable {
        /// The table name, as Octopus spells it.
        public var name: String
        /// Column definitions in SQLite syntax, e.g. `IsDisabled INTEGER NOT NULL DEFAULT 0`.
        public var columns: [String]

        /// The `CREATE TABLE` statement.
        public var createStatement: String {
            let all =
                ["[Id] TEXT COLLATE NOCASE NOT NULL PRIMARY KEY"] + columns
                + ["[JSON] TEXT NOT NULL DEFAULT '{}'"]
            return "CREATE TABLE [\(name)] (\(all.joined(separator: ", ")))"
        }
    }

    private static let name = "[Name] TEXT COLLATE NOCASE"
    private static let spaceId = "[SpaceId] TEXT COLLATE NOCASE"
    private static let isDisabled = "[IsDisabled] INTEGER NOT NULL DEFAULT 0"
    private static let isFrozen = "[IsFrozen] INTEGER NOT NULL DEFAULT 0"

    /// Every table, in creation order.
    public static let tables: [Table] = [
        Table(name: "Space", columns: [name, "[IsDefault] INTEGER NOT NULL DEFAULT 0"]),
        Table(name: "Project", columns: [name, spaceId, isDisabled]),
        Table(name: "Environment", columns: [name, spaceId]),
        Table(name: "Machine", columns: [name, spaceId, isDisabled]),
        Table(name: "Worker", columns: [name, spaceId, isDisabled]),
        Table(name: "ProjectTrigger", columns: [name, spaceId, "[ProjectId] TEXT COLLATE NOCASE", isDisabled]),
        Table(name: "Subscription", columns: [name, spaceId, isDisabled]),
        Table(
            name: "OctopusServerNode",
            columns: [
                name, "[IsInMaintenanceMode] INTEGER NOT NULL DEFAULT 0",
                "[MaxConcurrentTasks] INTEGER NOT NULL DEFAULT 5",
            ]
        ),
        Table(name: "OctopusServerNodeStatus", columns: ["[LastSeen] TEXT"]),
        Table(name: "Configuration", columns: []),
        Table(
            name: "ServerTask",
            columns: [name, spaceId, "[State] TEXT COLLATE NOCASE NOT NULL DEFAULT 'Queued'", "[QueueTime] TEXT"]
        ),
        Table(name: "ExtensionConfiguration", columns: [name]),
        Table(name: "SchemaVersions", columns: ["[ScriptName] TEXT COLLATE NOCASE NOT NULL", "[Applied] TEXT"]),
        Table(name: "OctopusServerInstallationHistory", columns: ["[Version] TEXT NOT NULL", "[Installed] TEXT"]),
        // Users and API keys (`admin --apiKey`, `X-Octopus-ApiKey`); keys are stored hashed, never in clear.
        Table(
            name: "User",
            columns: [name, "[IsService] INTEGER NOT NULL DEFAULT 0", "[IsActive] INTEGER NOT NULL DEFAULT 1"]
        ),
        Table(name: "ApiKey", columns: ["[UserId] TEXT COLLATE NOCASE NOT NULL", "[ApiKeyHashed] TEXT NOT NULL"]),
        // Holders of sensitive values, which `[JSON]` keeps encrypted with the Master Key.
        Table(name: "Account", columns: [name, spaceId]),
        Table(name: "Certificate", columns: [name, spaceId]),
        // The rest of a space's model, as export/import and drift see it.
        Table(name: "ProjectGroup", columns: [name, spaceId]),
        Table(name: "Lifecycle", columns: [name, spaceId]),
        Table(name: "Channel", columns: [name, spaceId, "[ProjectId] TEXT COLLATE NOCASE"]),
        // `IsFrozen` marks a release's snapshot (a copy taken when the release was created), which is never
        // changed again; the project's own set and process have `IsFrozen = 0`.
        Table(name: "VariableSet", columns: [spaceId, "[OwnerId] TEXT COLLATE NOCASE", isFrozen]),
        Table(name: "DeploymentProcess", columns: [spaceId, "[OwnerId] TEXT COLLATE NOCASE", isFrozen]),
        Table(name: "WorkerPool", columns: [name, spaceId]),
        Table(name: "Release", columns: [spaceId, "[ProjectId] TEXT COLLATE NOCASE", "[Version] TEXT"]),
        Table(
            name: "Deployment",
            columns: [
                spaceId, "[ReleaseId] TEXT COLLATE NOCASE", "[EnvironmentId] TEXT COLLATE NOCASE",
                "[TaskId] TEXT COLLATE NOCASE",
            ]
        ),
        Table(name: "Artifact", columns: [spaceId, "[ServerTaskId] TEXT COLLATE NOCASE", "[Filename] TEXT"]),
        Table(name: "Event", columns: [spaceId, "[Category] TEXT", "[Occurred] TEXT"]),
    ]

    /// The table of a name (as Octopus spells it), if the schema has it.
    public static func table(_ name: String) -> Table? {
        tables.first { $0.name == name }
    }

    /// Creates the Octopus tables in a database, in one transaction.
    /// - Parameters:
    ///   - database: An empty database.
    ///   - omitting: Tables to leave out, to play an older schema (e.g. `Worker` before workers existed,
    ///     `OctopusServerNodeStatus` before 2019.x).
    /// - Throws: ``SQLiteError``.
    public static func create(in database: SQLiteDatabase, omitting: Set<String> = []) throws {
        try database.withTransaction {
            for table in tables where !omitting.contains(table.name) {
                try database.execute(table.createStatement)
            }
        }
    }
}
