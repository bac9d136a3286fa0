import Foundation
import OctopusStandIn
import Testing

/// A throwaway stand-in data folder with a seeded "production" OctopusDeploy database.
struct StandInFixture: ~Copyable {
    static let server = "localhost"
    static let database = "OctopusDeploy"
    static let installationID = "0f7e2c4a-1111-4222-8333-123456789012"

    let root: String
    var dataFolder: DataFolder { DataFolder(root: root) }

    /// - Parameter omitting: Tables the seeded schema leaves out (an older Octopus).
    init(omitting: Set<String> = []) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("standin-\(UUID().uuidString)").path
        let database = try DataFolder(root: root).createOctopusDatabase(
            server: Self.server,
            database: Self.database,
            omitting: omitting
        )
        try Self.seed(database, omitting: omitting)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// 2 nodes with status rows, 3 machines, 2 workers, 2 triggers and 2 subscriptions (all enabled),
    /// 3 extension configurations, the installation ID and two installed versions.
    static func seed(_ database: SQLiteDatabase, omitting: Set<String>) throws {
        var statements = [
            "INSERT INTO Space (Id, Name, IsDefault) VALUES ('Spaces-1', 'Default', 1)",
            "INSERT INTO OctopusServerNode (Id, Name) VALUES ('OctopusServerNodes-1', 'PROD1'), "
                + "('OctopusServerNodes-2', 'PROD2')",
            "INSERT INTO Machine (Id, Name, SpaceId) VALUES ('Machines-1', 'web1', 'Spaces-1'), "
                + "('Machines-2', 'web2', 'Spaces-1'), ('Machines-3', 'db1', 'Spaces-1')",
            "INSERT INTO ProjectTrigger (Id, Name, SpaceId) VALUES ('ProjectTriggers-1', 'nightly', 'Spaces-1'), "
                + "('ProjectTriggers-2', 'on-release', 'Spaces-1')",
            "INSERT INTO Subscription (Id, Name, SpaceId) VALUES ('Subscriptions-1', 'slack', 'Spaces-1'), "
                + "('Subscriptions-2', 'pager', 'Spaces-1')",
            "INSERT INTO ExtensionConfiguration (Id) VALUES ('authentication-octopusid'), ('jira-integration'), "
                + "('other')",
            "INSERT INTO Configuration (Id, JSON) VALUES ('upgradeavailability', "
                + "'{\"InstallationId\":\"\(installationID)\",\"Enabled\":true}')",
            "INSERT INTO OctopusServerInstallationHistory (Id, Version, Installed) VALUES "
                + "('1', '2023.2.9755', '2023-05-01 10:00:00'), ('2', '2023.4.8536', '2024-01-15 09:30:00')",
            "INSERT INTO SchemaVersions (Id, ScriptName, Applied) VALUES "
                + "('1', 'Octopus.Core.UpgradeScripts.Script0001 - Initial.sql', '2023-05-01 10:00:00')",
        ]
        if !omitting.contains("Worker") {
            statements.append(
                "INSERT INTO Worker (Id, Name, SpaceId) VALUES ('Workers-1', 'w1', 'Spaces-1'), "
                    + "('Workers-2', 'w2', 'Spaces-1')"
            )
        }
        if !omitting.contains("OctopusServerNodeStatus") {
            statements.append(
                "INSERT INTO OctopusServerNodeStatus (Id, LastSeen) VALUES "
                    + "('OctopusServerNodes-1', '2026-11-24'), ('OctopusServerNodes-2', '2026-11-24')"
            )
        }
        for statement in statements { try database.run(statement) }
    }

    /// Opens the seeded database for checks.
    func open() throws -> SQLiteDatabase {
        try dataFolder.open(server: Self.server, database: Self.database)
    }

    /// The single column of a query, as text.
    func column(_ sql: String) throws -> [String] {
        try open().query(sql).rows.map { $0.first?.description ?? "" }
    }

    /// Runs sqlcmd through the library, collecting what it prints.
    func sqlcmd(_ arguments: [String]) throws -> (status: Int32, output: [String]) {
        let options = try SqlcmdOptions.parse(arguments)
        var lines: [String] = []
        let status = Sqlcmd(options: options, dataFolder: dataFolder).run { lines.append($0) }
        return (status, lines)
    }
}

/// A file under `Tests/OctopusStandInTests/Fixtures`.
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

/// Writes `text` to a new file in `folder` and returns its path.
func writeScript(_ text: String, named name: String, in folder: String) throws -> String {
    let path = "\(folder)/\(name)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
