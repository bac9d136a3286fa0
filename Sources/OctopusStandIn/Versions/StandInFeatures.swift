/// What an Octopus Server of a given version has, in one place: the CLI verbs, the schema scripts and
/// the REST API all read their version gates from here (octopus-facts.md §2.6, §5.3).
public struct StandInFeatures: Sendable, Hashable {
    /// The version whose features these are.
    public let version: StandInVersion

    /// - Parameter version: The Octopus Server version (a binary's, or a database schema's).
    public init(version: StandInVersion) {
        self.version = version
    }

    /// The first version of each feature.
    public enum Since {
        /// `show-configuration` and `configure --autoLoginEnabled` (DSC threshold).
        public static let showConfiguration = StandInVersion.known("3.5.0")
        /// `configure --hstsEnabled/--hstsMaxAge` (DSC threshold).
        public static let hsts = StandInVersion.known("3.13.0")
        /// `database --upgrade` (DSC threshold).
        public static let databaseUpgrade = StandInVersion.known("3.13.9")
        /// `create-instance --home` (DSC threshold; before, `--home` was on `configure`).
        public static let createInstanceHome = StandInVersion.known("3.16.4")
        /// `database --connectionString --create` before `configure`; before it, `configure
        /// --storageConnectionString [--masterKey]` (DSC threshold).
        public static let databaseVerbConnects = StandInVersion.known("4.0.0")
        /// `node --taskCap` (DSC threshold).
        public static let nodeTaskCap = StandInVersion.known("2018.6.13")
        /// Workers (`Worker`, `WorkerPool` tables, `/api/workers`).
        public static let workers = StandInVersion.known("2018.7.0")
        /// `database/license --skipLicenseCheck` (DSC threshold).
        public static let skipLicenseCheck = StandInVersion.known("2018.8.9")
        /// Spaces: the `Space` table, `SpaceId` values, `/api/{spaceId}/…` routes.
        public static let spaces = StandInVersion.known("2019.1.0")
        /// `OctopusServerNodeStatus`, split from `OctopusServerNode` (Issue #5348, closed February 2019;
        /// the first release carrying it is an inference).
        public static let nodeStatusTable = StandInVersion.known("2019.3.0")
        /// Export/Import Projects (`/api/{spaceId}/projects/import-export/…`).
        public static let exportImport = StandInVersion.known("2021.1.0")
        /// The `Imports` server folder (`path --imports`).
        public static let importsFolder = StandInVersion.known("2021.1.0")
        /// The `EventExports` server folder (`path --eventExports`).
        public static let eventExports = StandInVersion.known("2023.3.0")
    }

    /// `show-configuration` exists.
    public var hasShowConfiguration: Bool { version >= Since.showConfiguration }
    /// HSTS settings exist.
    public var hasHSTS: Bool { version >= Since.hsts }
    /// `database --upgrade` exists.
    public var hasDatabaseUpgrade: Bool { version >= Since.databaseUpgrade }
    /// `create-instance --home` exists.
    public var hasCreateInstanceHome: Bool { version >= Since.createInstanceHome }
    /// The connection string and master key are given to `database`; before 4.0 to `configure`.
    public var databaseVerbConnects: Bool { version >= Since.databaseVerbConnects }
    /// `node --taskCap` exists.
    public var hasNodeTaskCap: Bool { version >= Since.nodeTaskCap }
    /// Workers exist (`Worker` and `WorkerPool` tables, `/api/workers`).
    public var hasWorkers: Bool { version >= Since.workers }
    /// `--skipLicenseCheck` exists.
    public var hasSkipLicenseCheck: Bool { version >= Since.skipLicenseCheck }
    /// Spaces exist: the `Space` table has rows and the API serves `/api/{spaceId}/…`; before, the
    /// database has no `Space` table and the API serves `/api/<collection>` only.
    public var hasSpaces: Bool { version >= Since.spaces }
    /// The `OctopusServerNodeStatus` table exists.
    public var hasNodeStatusTable: Bool { version >= Since.nodeStatusTable }
    /// Export/Import Projects exists.
    public var hasExportImport: Bool { version >= Since.exportImport }
    /// The `Imports` server folder exists.
    public var hasImportsFolder: Bool { version >= Since.importsFolder }
    /// The `EventExports` server folder exists.
    public var hasEventExports: Bool { version >= Since.eventExports }

    /// Tables a database of this version does not have (see ``OctopusSchema/create(in:omitting:)``).
    public var absentTables: Set<String> {
        var tables: Set<String> = []
        if !hasWorkers { tables.formUnion(["Worker", "WorkerPool"]) }
        if !hasSpaces { tables.insert("Space") }
        if !hasNodeStatusTable { tables.insert("OctopusServerNodeStatus") }
        return tables
    }
}
