import Foundation
import Wire

/// How an import treats what already exists.
struct ProjectImportOptions: Sendable {
    /// What happens to a project asked for in the export (`metadata.json` `Projects`) when the target
    /// space has a project of that name.
    enum ExistingProject: Sendable {
        /// Export/Import Projects: the whole import fails, nothing is written.
        case refuse
        /// The Migrator without `--overwrite`: the project (and its children) are skipped.
        case skip
        /// The Migrator with `--overwrite`: the project keeps its Id, its document and children are replaced.
        case overwrite
    }

    var existingProject: ExistingProject
    /// Whether a shared document (environment, lifecycle, account, …) of the same name is replaced (the
    /// Migrator's `--overwrite`) rather than used as it is (matched by name).
    var overwriteShared: Bool
    /// The space every document goes to (Export/Import Projects: the space of the request). `nil`: each
    /// source space is matched by name in the target, and created when missing (the Migrator).
    var targetSpace: String?

    /// Export/Import Projects into a space.
    static func exportProjects(into space: String?) -> ProjectImportOptions {
        ProjectImportOptions(existingProject: .refuse, overwriteShared: false, targetSpace: space)
    }
}

/// What an import did.
struct ProjectImportSummary: Sendable {
    /// Names of the projects asked for that were imported (created or overwritten).
    var imported: [String] = []
    /// Names of the projects asked for that were skipped because they exist.
    var skipped: [String] = []
    /// Rows created, per table.
    var created: [String: Int] = [:]
    /// Shared rows matched by name to an existing one, per table.
    var matched: [String: Int] = [:]
    /// Rows replaced (`--overwrite`), per table.
    var replaced: [String: Int] = [:]
    /// New Ids of imported server tasks, by their Id in the export (for task logs).
    var taskIds: [String: String] = [:]
    /// One line per document, for the task log or the Migrator's output.
    var lines: [String] = []
    var warnings: [String] = []
}

/// Writes an export into a database, all or nothing (one transaction): shared documents are matched by
/// name in the target space (used as they are, or replaced with `--overwrite`), everything else gets
/// new Ids, every reference is rewritten to the new Ids, and sensitive values are decrypted with the
/// export password and encrypted with the target's Master Key.
struct ProjectImporter {
    let database: SQLiteDatabase
    /// The target's Master Key; `nil` fails an import that carries sensitive values.
    let masterKey: MasterKey?
    let options: ProjectImportOptions

    /// Tables matched by name, in the order they are imported, with the prefix of new Ids.
    static let namedTables: [(table: String, prefix: String)] = [
        ("Environment", "Environments"), ("ProjectGroup", "ProjectGroups"), ("Lifecycle", "Lifecycles"),
        ("WorkerPool", "WorkerPools"), ("Account", "Accounts"), ("Certificate", "Certificates"),
        ("Machine", "Machines"), ("Worker", "Workers"), ("Project", "Projects"),
    ]
    /// A project's children, in import order: table, Id prefix, the column naming the owner project.
    static let childTables: [(table: String, prefix: String, owner: String)] = [
        ("Channel", "Channels", "ProjectId"), ("VariableSet", "variableset", "OwnerId"),
        ("DeploymentProcess", "deploymentprocess", "OwnerId"),
        ("Release", "Releases", "ProjectId"),
    ]

    private enum Action {
        case insert(String)
        case replace(String)
        case skip(String?)

        var targetId: String? {
            switch self {
            case .insert(let id), .replace(let id): id
            case .skip(let id): id
            }
        }
    }

    private struct DryRun: Error {}

    /// Imports a bundle.
    /// - Parameters:
    ///   - bundle: The export.
    ///   - password: The unlocked export password.
    ///   - commit: `false` plays the import and rolls it back (the Migrator's `--dry-run`).
    /// - Throws: ``ExportImportError``: `alreadyExists` (with ``ProjectImportOptions/ExistingProject/refuse``),
    ///   `masterKey`, `malformed`, `storage`. Nothing is written then.
    func apply(
        _ bundle: ExportBundle,
        password: ExportPassword,
        commit: Bool = true
    ) throws(ExportImportError) -> ProjectImportSummary {
        var summary = ProjectImportSummary()
        do {
            try database.withTransaction {
                summary = try plan(bundle, password: password)
                if !commit { throw DryRun() }
            }
        } catch is DryRun {
            return summary
        } catch {
            throw ExportImportError.storage("import the projects", error)
        }
        return summary
    }

    // The whole import, inside the transaction.
    private func plan(_ bundle: ExportBundle, password: ExportPassword) throws -> ProjectImportSummary {
        var summary = ProjectImportSummary()
        // A database from an older stand-in gets the tables and columns the export's rows need first.
        try ProjectDocuments.upgradeModel(in: database)
        let spaces = try resolveSpaces(bundle, summary: &summary)
        func space(_ source: String?) -> String? {
            if let fixed = options.targetSpace { return fixed }
            return spaces[(source ?? "").lowercased()] ?? nil
        }

        // Projects asked for that already exist.
        let roots = Set(bundle.projects.map { $0.id.lowercased() })
        var existing: [String] = []
        for project in bundle.projects {
            if let found = try find("Project", name: project.name, space: space(project.spaceId)) {
                existing.append("'\(project.name)' (\(found) in \(space(project.spaceId) ?? "the instance"))")
            }
        }
        if !existing.isEmpty, options.existingProject == .refuse {
            throw ExportImportError(
                .alreadyExists,
                "The project\(existing.count == 1 ? "" : "s") \(existing.joined(separator: ", ")) already "
                    + "exist\(existing.count == 1 ? "s" : "") in the target space; Export/Import Projects does not "
                    + "import a project that already exists. Nothing was imported."
            )
        }

        // Decide what happens to every row and which Id it gets.
        var idMap: [String: String] = [:]
        var actions: [Int: Action] = [:]
        var allocator = IdAllocator(database: database)
        for (table, prefix) in Self.namedTables {
            for (index, row) in bundle.rows.enumerated() where row.table == table {
                let target = space(row.spaceId)
                let found = try row.name.flatMap { try find(table, name: $0, space: target) }
                let action: Action
                if let found {
                    let isRoot = table == "Project" && roots.contains(row.id.lowercased())
                    let overwrite = isRoot ? options.existingProject == .overwrite : options.overwriteShared
                    action = overwrite ? .replace(found) : .skip(found)
                    if isRoot, !overwrite { summary.skipped.append(row.name ?? row.id) }
                } else {
                    action = .insert(try allocator.next(table, prefix: prefix))
                }
                actions[index] = action
                if let id = action.targetId { idMap[row.id.lowercased()] = id }
                if table == "Project", let id = action.targetId {
                    for prefix in ["variableset", "deploymentprocess"] {
                        idMap["\(prefix)-\(row.id)".lowercased()] = "\(prefix)-\(id)"
                    }
                }
            }
        }
        for (table, prefix, owner) in Self.childTables {
            for (index, row) in bundle.rows.enumerated() where row.table == table {
                let ownerId = row.columns[owner]?.text ?? ""
                let ownerAction = bundle.rows.indices.first {
                    bundle.rows[$0].table == "Project" && bundle.rows[$0].id.lowercased() == ownerId.lowercased()
                }.flatMap { actions[$0] }
                guard let ownerAction, let ownerTarget = Self.imported(ownerAction) else {
                    actions[index] = .skip(nil)
                    continue
                }
                // A release of an overwritten project replaces the release of the same version.
                if table == "Release", case .replace = ownerAction, let version = row.columns["Version"]?.text,
                    let found = try database.query(
                        "SELECT Id FROM Release WHERE ProjectId = ? AND Version = ? LIMIT 1",
                        [.text(ownerTarget), .text(version)]
                    ).rows.first?.first?.text
                {
                    actions[index] = .replace(found)
                    idMap[row.id.lowercased()] = found
                    continue
                }
                let conventional = "\(prefix)-\(ownerId)".lowercased()
                let id: String
                if row.id.lowercased() == conventional {
                    id = "\(prefix)-\(ownerTarget)"
                } else if row.id.lowercased().hasPrefix(conventional + "-") {
                    // A release's snapshot, `deploymentprocess-<project>-s-<version>-<letters>`: frozen, so one
                    // the target already has (the same export imported again) is the same document.
                    id = "\(prefix)-\(ownerTarget)" + row.id.dropFirst(conventional.count)
                    if try database.tableExists(table),
                        !(try database.query("SELECT 1 FROM [\(table)] WHERE Id = ?", [.text(id)]).rows.isEmpty)
                    {
                        actions[index] = .skip(id)
                        idMap[row.id.lowercased()] = id
                        continue
                    }
                } else {
                    id = try allocator.next(table, prefix: prefix)
                }
                actions[index] = .insert(id)
                idMap[row.id.lowercased()] = id
            }
        }
        // Deployments follow their release; tasks follow their deployments.
        var keptTasks: Set<String> = []
        for (index, row) in bundle.rows.enumerated() where row.table == "Deployment" {
            guard idMap[(row.columns["ReleaseId"]?.text ?? "").lowercased()] != nil,
                bundle.rows.contains(where: {
                    $0.table == "Release" && $0.id.lowercased() == (row.columns["ReleaseId"]?.text ?? "").lowercased()
                })
            else {
                actions[index] = .skip(nil)
                continue
            }
            let id = try allocator.next("Deployment", prefix: "Deployments")
            actions[index] = .insert(id)
            idMap[row.id.lowercased()] = id
            if let task = row.columns["TaskId"]?.text { keptTasks.insert(task.lowercased()) }
        }
        for (index, row) in bundle.rows.enumerated() where row.table == "ServerTask" {
            guard keptTasks.contains(row.id.lowercased()) else {
                actions[index] = .skip(nil)
                continue
            }
            let id = try allocator.next("ServerTask", prefix: "ServerTasks")
            actions[index] = .insert(id)
            idMap[row.id.lowercased()] = id
            summary.taskIds[row.id] = id
        }

        // Documents referred to but not exported (the default lifecycle's environments): by name.
        var unresolved: Set<String> = []
        for reference in bundle.references where idMap[reference.id.lowercased()] == nil {
            if let found = try find(reference.table, name: reference.name, space: space(reference.spaceId)) {
                idMap[reference.id.lowercased()] = found
            } else {
                unresolved.insert(reference.id.lowercased())
                summary.warnings.append(
                    "The \(reference.table.lowercased()) '\(reference.name)' is referred to (by the default lifecycle) "
                        + "but does not exist in \(space(reference.spaceId) ?? "the instance"); create it, the "
                        + "imported documents no longer name it."
                )
            }
        }

        // Write.
        let importedProjects = Set(
            bundle.rows.indices.filter { bundle.rows[$0].table == "Project" }.compactMap { index -> String? in
                guard let action = actions[index], Self.imported(action) != nil else { return nil }
                return bundle.rows[index].id.lowercased()
            }
        )
        let order = Self.namedTables.map(\.table) + Self.childTables.map(\.table) + ["ServerTask", "Deployment"]
        for table in order {
            for (index, source) in bundle.rows.enumerated() where source.table == table {
                guard let action = actions[index] else { continue }
                switch action {
                case .skip(let id):
                    if let id {
                        summary.matched[table, default: 0] += 1
                        summary.lines.append("\(source.label): exists as \(id); used as it is.")
                    }
                    continue
                case .insert(let id), .replace(let id):
                    guard try ensureTable(table) else {
                        summary.warnings.append("\(source.label) is not imported: this database has no \(table) table.")
                        continue
                    }
                    var row = source
                    row.id = id
                    row.document = Self.rewrite(.object(row.document), idMap, unresolved).objectValue ?? row.document
                    row.document["Id"] = .string(id)
                    if table == "DeploymentProcess", let last = source.document["LastSnapshotId"]?.stringValue,
                        idMap[last.lowercased()] == nil
                    {
                        // The source's last release snapshot did not come along (releases are not exported).
                        row.document["LastSnapshotId"] = .null
                    }
                    let target = space(source.spaceId)
                    if row.document["SpaceId"] != nil { row.document["SpaceId"] = target.map { .string($0) } ?? .null }
                    for (column, value) in row.columns {
                        if column == "SpaceId" {
                            row.columns[column] = target.map { .text($0) } ?? .null
                        } else if let text = value.text, let mapped = idMap[text.lowercased()] {
                            row.columns[column] = .text(mapped)
                        }
                    }
                    try SensitiveFields.transform(&row) { (value, what) throws(ExportImportError) in
                        let plaintext = try password.decrypt(value, what: what)
                        guard let masterKey else {
                            throw ExportImportError(
                                .masterKey,
                                "This Octopus Server has no Master Key to encrypt the sensitive value of \(what) "
                                    + "with; configure the instance's Master Key and restart it."
                            )
                        }
                        return masterKey.encrypt(plaintext)
                    }
                    if case .replace = action {
                        if table == "Project" { try deleteChildren(of: id) }
                        try database.run("DELETE FROM [\(table)] WHERE Id = ?", [.text(id)])
                        summary.replaced[table, default: 0] += 1
                        summary.lines.append("\(source.label): replaced \(id).")
                    } else {
                        summary.created[table, default: 0] += 1
                        summary.lines.append("\(source.label): created as \(id).")
                    }
                    try insert(row)
                    if table == "Project", roots.contains(source.id.lowercased()),
                        importedProjects.contains(source.id.lowercased())
                    {
                        summary.imported.append(source.name ?? source.id)
                    }
                }
            }
        }
        // Every imported project has its process and variable set, even from an export that had none.
        try ProjectDocuments.ensure(in: database)
        return summary
    }

    private static func imported(_ action: Action) -> String? {
        switch action {
        case .insert(let id), .replace(let id): id
        case .skip: nil
        }
    }

    /// Maps every source space to a target space: by name, creating missing ones (the Migrator); every
    /// row goes to ``ProjectImportOptions/targetSpace`` when it is set; `nil` before spaces.
    private func resolveSpaces(
        _ bundle: ExportBundle,
        summary: inout ProjectImportSummary
    ) throws -> [String: String?] {
        guard options.targetSpace == nil, try database.tableExists("Space") else { return [:] }
        var map: [String: String?] = [:]
        let defaultSpace = try database.query("SELECT Id FROM Space WHERE IsDefault = 1 ORDER BY Id LIMIT 1")
            .rows.first?.first?.text
        map[""] = defaultSpace
        var allocator = IdAllocator(database: database)
        for source in bundle.spaces {
            if let found = try find("Space", name: source.name, space: nil) {
                map[source.id.lowercased()] = found
                continue
            }
            let id = try allocator.next("Space", prefix: "Spaces")
            let document = JSONValue.object([
                ("Id", .string(id)), ("Name", .string(source.name)),
                ("Description", .string("Created by an import of \(bundle.kind.rawValue) from \(source.id).")),
                ("IsDefault", .bool(false)), ("TaskQueueStopped", .bool(false)),
            ])
            try database.run(
                "INSERT INTO Space (Id, Name, IsDefault, [JSON]) VALUES (?, ?, 0, ?)",
                [.text(id), .text(source.name), .text(document.serialized())]
            )
            map[source.id.lowercased()] = id
            summary.created["Space", default: 0] += 1
            summary.lines.append("Space '\(source.name)' (\(source.id)): created as \(id).")
        }
        return map
    }

    /// The Id of a row of a table named `name` in a space (case-insensitive), if any.
    private func find(_ table: String, name: String, space: String?) throws -> String? {
        guard try database.tableExists(table) else { return nil }
        let columns = try self.columns(table)
        guard columns.contains("Name") else { return nil }
        var sql = "SELECT Id FROM [\(table)] WHERE Name = ?"
        var parameters: [SQLValue] = [.text(name)]
        if columns.contains("SpaceId"), table != "Space" {
            if let space {
                sql += " AND SpaceId = ?"
                parameters.append(.text(space))
            } else {
                sql += " AND SpaceId IS NULL"
            }
        }
        return try database.query(sql + " ORDER BY length(Id), Id LIMIT 1", parameters).rows.first?.first?.text
    }

    private func columns(_ table: String) throws -> [String] {
        let info = try database.query("PRAGMA table_info([\(table)])")
        let nameIndex = info.columns.firstIndex(of: "name") ?? 1
        return info.rows.compactMap { $0[nameIndex].text }
    }

    /// Creates a table of the stand-in's schema that the database lacks (a database from before the stand-in
    /// modelled it, e.g. `DeploymentProcess`).
    /// - Returns: Whether the table exists now.
    private func ensureTable(_ table: String) throws -> Bool {
        if try database.tableExists(table) { return true }
        guard table == "DeploymentProcess", let schema = OctopusSchema.table(table) else { return false }
        try database.execute(schema.createStatement)
        return true
    }

    /// Removes what an overwritten project owns, before its replacements are written.
    private func deleteChildren(of project: String) throws {
        for (table, _, owner) in Self.childTables where table != "Release" {
            guard try database.tableExists(table) else { continue }
            // Releases stay, and so do the frozen snapshots they were created with.
            let frozen = try columns(table).contains("IsFrozen") ? " AND IsFrozen = 0" : ""
            try database.run("DELETE FROM [\(table)] WHERE [\(owner)] = ?\(frozen)", [.text(project)])
        }
    }

    private func insert(_ row: ExportedRow) throws {
        let available = Set(try columns(row.table))
        var names = ["[Id]", "[JSON]"]
        var values: [SQLValue] = [.text(row.id), .text(JSONValue.object(row.document).serialized())]
        for (column, value) in row.columns.sorted(by: { $0.key < $1.key }) where available.contains(column) {
            names.append("[\(column)]")
            values.append(value)
        }
        try database.run(
            "INSERT INTO [\(row.table)] (\(names.joined(separator: ", "))) VALUES (\(values.map { _ in "?" }.joined(separator: ", ")))",
            values
        )
    }

    /// Rewrites every string that is a mapped Id; drops unresolved Ids from arrays.
    static func rewrite(_ value: JSONValue, _ map: [String: String], _ unresolved: Set<String>) -> JSONValue {
        switch value {
        case .string(let text):
            return map[text.lowercased()].map { .string($0) } ?? value
        case .array(let elements):
            return .array(
                elements.filter { !unresolved.contains($0.stringValue?.lowercased() ?? "") }
                    .map { rewrite($0, map, unresolved) }
            )
        case .object(var object):
            for (key, member) in object { object[key] = rewrite(member, map, unresolved) }
            return .object(object)
        default:
            return value
        }
    }
}

/// Hands out new `Prefix-N` Ids, one more than the largest in the table and than those already handed out.
struct IdAllocator {
    let database: SQLiteDatabase
    private var next: [String: Int64] = [:]

    init(database: SQLiteDatabase) {
        self.database = database
    }

    mutating func next(_ table: String, prefix: String) throws -> String {
        let key = "\(table)\n\(prefix)".lowercased()
        if next[key] == nil {
            var largest: Int64 = 0
            if try database.tableExists(table) {
                let id = try StandInStore.nextId(database, table: table, prefix: prefix)
                largest = (Int64(id.dropFirst(prefix.count + 1)) ?? 1) - 1
            }
            next[key] = largest + 1
        }
        let number = next[key] ?? 1
        next[key] = number + 1
        return "\(prefix)-\(number)"
    }
}
