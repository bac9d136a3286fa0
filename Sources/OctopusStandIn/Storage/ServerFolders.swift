import Foundation

/// The server folders, stored where Octopus stores them: in the database, `Configuration` row
/// `server-folders` (octopus-facts.md §1.1–1.3; `path` writes them, `/api/configuration/server-folders/values`
/// serves them). Properties are named as that endpoint names them (`PackagesDirectory`,
/// `ArtifactsDirectory`, `LogsDirectory` are documented; the rest follow the same pattern).
public struct ServerFolders: Sendable, Hashable, Codable {
    /// The `Configuration` row id.
    public static let configurationId = "server-folders"

    /// The built-in package repository (`path --nugetRepository`).
    public var packagesDirectory: String?
    /// Artifacts (`path --artifacts`).
    public var artifactsDirectory: String?
    /// Task logs (`path --taskLogs`).
    public var taskLogsDirectory: String?
    /// Archived audit events (`path --eventExports`, 2023.3 and later).
    public var eventExportsDirectory: String?
    /// Export/Import Projects zips (`path --imports`, 2021.1 and later).
    public var importsDirectory: String?
    /// Telemetry (`path --telemetry`).
    public var telemetryDirectory: String?
    /// The server log folder.
    public var logsDirectory: String?

    enum CodingKeys: String, CodingKey {
        case packagesDirectory = "PackagesDirectory"
        case artifactsDirectory = "ArtifactsDirectory"
        case taskLogsDirectory = "TaskLogsDirectory"
        case eventExportsDirectory = "EventExportsDirectory"
        case importsDirectory = "ImportsDirectory"
        case telemetryDirectory = "TelemetryDirectory"
        case logsDirectory = "LogsDirectory"
    }

    /// No folders set.
    public init() {}

    /// Octopus's defaults under a home folder (`<home>/Packages`, `<home>/Artifacts`, …), with only the
    /// folders the version has.
    public static func defaults(home: String, features: StandInFeatures) -> ServerFolders {
        var folders = ServerFolders()
        folders.packagesDirectory = "\(home)/Packages"
        folders.artifactsDirectory = "\(home)/Artifacts"
        folders.taskLogsDirectory = "\(home)/TaskLogs"
        folders.telemetryDirectory = "\(home)/Telemetry"
        folders.logsDirectory = "\(home)/Logs"
        if features.hasEventExports { folders.eventExportsDirectory = "\(home)/EventExports" }
        if features.hasImportsFolder { folders.importsDirectory = "\(home)/Imports" }
        return folders
    }

    /// The folders stored in a database (empty when the row is missing).
    /// - Throws: ``SQLiteError``, or a decoding error when the row is not such a document.
    public static func read(from database: SQLiteDatabase) throws -> ServerFolders {
        let rows = try database.query("SELECT [JSON] FROM Configuration WHERE Id = ?", [.text(configurationId)])
        guard let json = rows.rows.first?.first?.text else { return ServerFolders() }
        return try JSONDecoder().decode(ServerFolders.self, from: Data(json.utf8))
    }

    /// Stores the folders in a database, replacing the row.
    /// - Throws: ``SQLiteError``.
    public func write(to database: SQLiteDatabase) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(self), as: UTF8.self)
        try database.run(
            "INSERT INTO Configuration (Id, [JSON]) VALUES (?, ?) ON CONFLICT (Id) DO UPDATE SET [JSON] = excluded.[JSON]",
            [.text(Self.configurationId), .text(json)]
        )
    }
}
