import Foundation
import Wire

/// The documents every Octopus project owns: its deployment process (`DeploymentProcess`) and its variable
/// set (`VariableSet`), named `deploymentprocess-<project Id>` and `variableset-<project Id>` as Octopus names
/// them, plus the stand-in's "always run" script that brings a database written by an older stand-in up to
/// the model.
///
/// Octopus has had both tables since 3.0, so every real database has them. Databases (and backups) made by
/// stand-in builds from before the `DeploymentProcess` table have neither that table nor the `IsFrozen`
/// columns; ``upgradeModel(in:)`` adds them and gives every project that lacks one an empty process and
/// variable set (`Version` 0, as a project that was never edited). It is idempotent, journals nothing in
/// `SchemaVersions` (so the schema version stays what it was, like Octopus's always-run scripts) and runs
/// when a database is created or upgraded, when a server starts, and when the Migrator opens a database.
public enum ProjectDocuments {
    /// The Id Octopus gives a project's deployment process.
    public static func processId(project: String) -> String { "deploymentprocess-\(project)" }

    /// The Id Octopus gives a project's variable set.
    public static func variableSetId(project: String) -> String { "variableset-\(project)" }

    /// Brings a database up to the stand-in's model: creates `DeploymentProcess` when missing, adds
    /// `IsFrozen` to `VariableSet` and `DeploymentProcess` when missing, and gives every project its process and
    /// variable set. The caller holds a transaction.
    /// - Returns: The rows and columns added, one line each (empty when the database was up to date).
    /// - Throws: ``SQLiteError``.
    @discardableResult
    public static func upgradeModel(in database: SQLiteDatabase) throws -> [String] {
        var changes: [String] = []
        guard try database.tableExists("Project") else { return changes }
        for name in ["VariableSet", "DeploymentProcess"] {
            guard let table = OctopusSchema.table(name) else { continue }
            if try !database.tableExists(name) {
                try database.execute(table.createStatement)
                changes.append("created table \(name)")
                continue
            }
            let present = Set(try columns(of: name, in: database).map { $0.lowercased() })
            for definition in table.columns {
                guard let column = columnName(definition), !present.contains(column.lowercased()) else { continue }
                try database.execute("ALTER TABLE [\(name)] ADD COLUMN \(definition)")
                changes.append("added \(name).\(column)")
            }
        }
        changes += try ensure(in: database)
        return changes
    }

    /// Gives projects that lack them a deployment process and a variable set (empty, `Version` 0), under the
    /// Ids their documents name (`DeploymentProcessId`, `VariableSetId`) or Octopus's conventional ones. The
    /// caller holds a transaction; the tables must exist.
    /// - Parameter projects: Only these projects; `nil` for every project.
    /// - Returns: One line per row written.
    /// - Throws: ``SQLiteError``.
    @discardableResult
    static func ensure(in database: SQLiteDatabase, projects: [String]? = nil) throws -> [String] {
        var written: [String] = []
        var sql = "SELECT Id, SpaceId, JSON FROM Project"
        var parameters: [SQLValue] = []
        if let projects {
            guard !projects.isEmpty else { return written }
            sql += " WHERE Id IN (\(projects.map { _ in "?" }.joined(separator: ", ")))"
            parameters = projects.map { .text($0) }
        }
        let hasSpaces = try columns(of: "Project", in: database).contains("SpaceId")
        let rows = try database.query(
            hasSpaces ? sql : sql.replacingOccurrences(of: "SpaceId", with: "NULL"),
            parameters
        )
        for row in rows.rows {
            guard let project = row[0].text else { continue }
            let space = row[1].text
            let document = row[2].text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
            let processId = document["DeploymentProcessId"]?.stringValue ?? processId(project: project)
            let variableSetId = document["VariableSetId"]?.stringValue ?? variableSetId(project: project)
            if try !exists(in: database, table: "DeploymentProcess", id: processId, owner: project) {
                var process = JSONValue.Object([("Id", .string(processId)), ("ProjectId", .string(project))])
                if let space { process["SpaceId"] = .string(space) }
                process["Version"] = .integer(0)
                process["Steps"] = .array([])
                process["LastSnapshotId"] = .null
                try insert(database, table: "DeploymentProcess", id: processId, space: space, owner: project, process)
                written.append("gave \(project) the empty deployment process \(processId)")
            }
            if try !exists(in: database, table: "VariableSet", id: variableSetId, owner: project) {
                var set = JSONValue.Object([("Id", .string(variableSetId)), ("OwnerId", .string(project))])
                if let space { set["SpaceId"] = .string(space) }
                set["Version"] = .integer(0)
                set["Variables"] = .array([])
                try insert(database, table: "VariableSet", id: variableSetId, space: space, owner: project, set)
                written.append("gave \(project) the empty variable set \(variableSetId)")
            }
        }
        return written
    }

    /// Whether a table has a live (not frozen) row of an Id, or owned by a project.
    private static func exists(in database: SQLiteDatabase, table: String, id: String, owner: String) throws -> Bool {
        let frozen = try columns(of: table, in: database).contains("IsFrozen") ? " AND IsFrozen = 0" : ""
        return try !database.query(
            "SELECT 1 FROM [\(table)] WHERE Id = ? OR (OwnerId = ?\(frozen)) LIMIT 1",
            [.text(id), .text(owner)]
        ).rows.isEmpty
    }

    private static func insert(
        _ database: SQLiteDatabase,
        table: String,
        id: String,
        space: String?,
        owner: String,
        _ document: JSONValue.Object
    ) throws {
        try database.run(
            "INSERT INTO [\(table)] (Id, SpaceId, OwnerId, [JSON]) VALUES (?, ?, ?, ?)",
            [
                .text(id), space.map { .text($0) } ?? .null, .text(owner),
                .text(JSONValue.object(document).serialized()),
            ]
        )
    }

    /// The column names of a table, as declared.
    static func columns(of table: String, in database: SQLiteDatabase) throws -> [String] {
        let info = try database.query("PRAGMA table_info([\(table)])")
        let nameIndex = info.columns.firstIndex(of: "name") ?? 1
        return info.rows.compactMap { $0[nameIndex].text }
    }

    /// `IsFrozen` from `[IsFrozen] INTEGER …`.
    private static func columnName(_ definition: String) -> String? {
        guard definition.hasPrefix("["), let close = definition.firstIndex(of: "]") else { return nil }
        return String(definition[definition.index(after: definition.startIndex)..<close])
    }
}
