import Foundation
import Wire

/// What an export takes beyond the projects themselves.
struct ProjectExportOptions: Sendable {
    /// Leave out the environments of the default lifecycle (Export/Import Projects does; the docs say so
    /// as a deliberate choice). The default lifecycle is the one named ``defaultLifecycleName``.
    var skipDefaultLifecycleEnvironments = true
    /// Deployment targets in the exported environments and workers in the exported worker pools
    /// (the Migrator without `--ignore-machines`).
    var includeMachines = false
    /// Releases of the exported projects (the Migrator without `--ignore-history`).
    var includeReleases = false
    /// Which releases, when ``includeReleases``: `nil` or `*` for all, `2.5.0`, or `2.5.0-3.1.0`.
    var releaseVersion: String?
    /// Deployments of those releases and their tasks (the Migrator without `--ignore-deployments`).
    var includeDeployments = false
    /// Certificates the projects use (the Migrator's `--ignore-certificates` turns it off).
    var includeCertificates = true

    /// Octopus creates a lifecycle of this name in every space.
    static let defaultLifecycleName = "Default Lifecycle"

    /// Export/Import Projects' rules (octopus-facts.md §4.5).
    static let exportProjects = ProjectExportOptions()
}

/// What an export collected, before its sensitive values are sealed with the password.
struct ProjectExportContent {
    var rows: [ExportedRow] = []
    var projects: [ExportBundle.Project] = []
    var spaces: [ExportBundle.Space] = []
    var references: [ExportBundle.Reference] = []
}

/// Collects what an export holds, by following a project's references through the database:
///
/// - the project, its project group, channels, variable set and deployment process (not the frozen
///   snapshots releases keep, which go only with their releases);
/// - the lifecycles of the project and its channels, and their environments (except the default
///   lifecycle's when ``ProjectExportOptions/skipDefaultLifecycleEnvironments``; those are named in
///   `References` instead);
/// - every environment, account, certificate and worker pool whose Id appears in those documents
///   (variable scopes and values, steps), and every other project whose Id appears (Deploy a Release
///   steps), followed the same way;
/// - with the Migrator's options: targets, workers, releases, deployments and their tasks.
///
/// Never exported: triggers, subscriptions, packages, audit events, artifacts, users and teams, and
/// (unless asked) targets, workers, releases, deployments and tasks.
struct ProjectExporter {
    let database: SQLiteDatabase
    /// The source's Master Key: sensitive values are decrypted with it and re-encrypted with the export
    /// password. `nil`: the export fails if it meets a sensitive value.
    let masterKey: MasterKey?
    let options: ProjectExportOptions

    /// Id prefixes followed through documents, and their tables.
    private static let followed: [(prefix: String, table: String)] = [
        ("Environments-", "Environment"), ("Accounts-", "Account"), ("Certificates-", "Certificate"),
        ("WorkerPools-", "WorkerPool"), ("Projects-", "Project"), ("Lifecycles-", "Lifecycle"),
    ]

    /// Collects the export of some projects.
    /// - Parameters:
    ///   - projectIds: The projects asked for (their Ids as stored or in any case).
    ///   - protect: Re-encrypts a decrypted sensitive value with the export password.
    /// - Throws: ``ExportImportError``: `notFound` for a missing project, `masterKey` when a sensitive
    ///   value does not decrypt, `storage`.
    func export(
        projectIds: [String],
        protect: (String) -> String
    ) throws(ExportImportError) -> ProjectExportContent {
        var content = ProjectExportContent()
        var collected: [String: Int] = [:]  // "table\nid" lower-cased → index in content.rows
        var environmentIds: [String] = []
        var poolIds: [String] = []
        var releaseIds: [String] = []
        func key(_ table: String, _ id: String) -> String { "\(table)\n\(id)".lowercased() }
        func add(_ row: ExportedRow) -> Bool {
            let rowKey = key(row.table, row.id)
            guard collected[rowKey] == nil else { return false }
            collected[rowKey] = content.rows.count
            content.rows.append(row)
            if row.table == "Environment" { environmentIds.append(row.id) }
            if row.table == "WorkerPool" { poolIds.append(row.id) }
            if row.table == "Release" { releaseIds.append(row.id) }
            return true
        }

        var queue: [String] = []
        for requested in projectIds {
            guard let project = try rows("Project", "Id = ?", [.text(requested)]).first else {
                throw ExportImportError(.notFound, "There is no project \(requested) to export.")
            }
            content.projects.append(
                ExportBundle.Project(id: project.id, name: project.name ?? project.id, spaceId: project.spaceId)
            )
            queue.append(project.id)
        }
        var referenced: [String: ExportBundle.Reference] = [:]
        while !queue.isEmpty {
            let projectId = queue.removeFirst()
            guard let project = try rows("Project", "Id = ?", [.text(projectId)]).first, add(project) else { continue }
            let space = project.spaceId
            var documents: [ExportedRow] = [project]
            if let group = project.document["ProjectGroupId"]?.stringValue {
                for row in try rows("ProjectGroup", "Id = ?", [.text(group)], space: space) { _ = add(row) }
            }
            var lifecycleIds = [project.document["LifecycleId"]?.stringValue].compactMap { $0 }
            for channel in try rows("Channel", "ProjectId = ?", [.text(projectId)], space: space) {
                _ = add(channel)
                documents.append(channel)
                if let lifecycle = channel.document["LifecycleId"]?.stringValue { lifecycleIds.append(lifecycle) }
            }
            // The project's own variable set and process; a release's frozen snapshots go only with the release.
            for (table, idMember) in [("VariableSet", "VariableSetId"), ("DeploymentProcess", "DeploymentProcessId")] {
                let ownId = project.document[idMember]?.stringValue ?? ""
                for row in try rows(
                    table,
                    "(OwnerId = ? OR Id = ?)\(try notFrozen(table))",
                    [.text(projectId), .text(ownId)]
                ) {
                    _ = add(row)
                    documents.append(row)
                }
            }

            // Ids mentioned anywhere in the project's documents.
            var mentioned: [String: [String]] = [:]
            for document in documents {
                for text in Self.strings(in: .object(document.document)) + document.columns.values.compactMap(\.text) {
                    if let table = Self.followed.first(where: { Self.isId(text, prefix: $0.prefix) })?.table {
                        mentioned[table, default: []].append(text)
                    }
                }
            }
            lifecycleIds += mentioned["Lifecycle"] ?? []
            for lifecycleId in lifecycleIds {
                for lifecycle in try rows("Lifecycle", "Id = ?", [.text(lifecycleId)], space: space) {
                    _ = add(lifecycle)
                    let phases = lifecycle.document["Phases"]?.arrayValue ?? []
                    let phaseEnvironments = phases.flatMap { phase in
                        ["AutomaticDeploymentTargets", "OptionalDeploymentTargets"].flatMap {
                            (phase[$0]?.arrayValue ?? []).compactMap(\.stringValue)
                        }
                    }
                    let isDefault =
                        lifecycle.name?.lowercased() == ProjectExportOptions.defaultLifecycleName.lowercased()
                    if isDefault && options.skipDefaultLifecycleEnvironments {
                        for environment in try rows(
                            "Environment",
                            "Id IN (\(Self.marks(phaseEnvironments)))",
                            phaseEnvironments.map { .text($0) },
                            space: space
                        ) {
                            referenced[environment.id.lowercased()] = ExportBundle.Reference(
                                table: "Environment",
                                id: environment.id,
                                name: environment.name ?? environment.id,
                                spaceId: environment.spaceId
                            )
                        }
                    } else {
                        mentioned["Environment", default: []] += phaseEnvironments
                    }
                }
            }
            var tables = ["Environment", "Account", "WorkerPool"]
            if options.includeCertificates { tables.append("Certificate") }
            for table in tables {
                let ids = mentioned[table] ?? []
                guard !ids.isEmpty else { continue }
                for row in try rows(table, "Id IN (\(Self.marks(ids)))", ids.map { .text($0) }, space: space) {
                    _ = add(row)
                }
            }
            for other in mentioned["Project"] ?? [] where collected[key("Project", other)] == nil {
                queue.append(other)
            }
            if options.includeReleases {
                for release in try rows("Release", "ProjectId = ?", [.text(projectId)], space: space)
                where Self.matches(release.columns["Version"]?.text ?? "", options.releaseVersion) {
                    _ = add(release)
                    // The release's snapshots of the process and variables it was created with.
                    for (table, member) in [
                        ("DeploymentProcess", "ProjectDeploymentProcessSnapshotId"),
                        ("VariableSet", "ProjectVariableSetSnapshotId"),
                    ] {
                        guard let snapshot = release.document[member]?.stringValue else { continue }
                        for row in try rows(table, "Id = ?", [.text(snapshot)]) { _ = add(row) }
                    }
                }
            }
        }
        for id in environmentIds { referenced[id.lowercased()] = nil }
        content.references = referenced.values.sorted { $0.id < $1.id }

        if options.includeDeployments, !releaseIds.isEmpty {
            let deployments = try rows(
                "Deployment",
                "ReleaseId IN (\(Self.marks(releaseIds)))",
                releaseIds.map { .text($0) }
            )
            for deployment in deployments { _ = add(deployment) }
            let taskIds = deployments.compactMap { $0.columns["TaskId"]?.text }
            if !taskIds.isEmpty {
                for task in try rows("ServerTask", "Id IN (\(Self.marks(taskIds)))", taskIds.map { .text($0) }) {
                    _ = add(task)
                }
            }
        }
        if options.includeMachines {
            for environment in environmentIds {
                for machine in try rows(
                    "Machine",
                    "CASE WHEN json_valid(Machine.[JSON]) THEN EXISTS (SELECT 1 FROM json_each(Machine.[JSON], '$.EnvironmentIds') "
                        + "WHERE value = ? COLLATE NOCASE) ELSE 0 END",
                    [.text(environment)]
                ) { _ = add(machine) }
            }
            for pool in poolIds {
                for worker in try rows(
                    "Worker",
                    "CASE WHEN json_valid(Worker.[JSON]) THEN EXISTS (SELECT 1 FROM json_each(Worker.[JSON], '$.WorkerPoolIds') "
                        + "WHERE value = ? COLLATE NOCASE) ELSE 0 END",
                    [.text(pool)]
                ) { _ = add(worker) }
            }
        }

        // Sensitive values: from the Master Key to the export password.
        for index in content.rows.indices {
            try SensitiveFields.transform(&content.rows[index]) { (value, what) throws(ExportImportError) in
                guard let masterKey else {
                    throw ExportImportError(
                        .masterKey,
                        "This Octopus Server has no Master Key to decrypt the sensitive value of \(what) with; "
                            + "configure the instance's Master Key and restart it."
                    )
                }
                do {
                    return protect(try masterKey.decrypt(value))
                } catch {
                    throw ExportImportError(
                        .masterKey,
                        "The sensitive value of \(what) cannot be decrypted with this server's Master Key "
                            + "(\(error)); the database's sensitive values were encrypted with another key."
                    )
                }
            }
        }

        let spaceIds = Set(content.rows.compactMap(\.spaceId).map { $0.lowercased() })
        if !spaceIds.isEmpty {
            for space in try rows("Space", "1 = 1", []) where spaceIds.contains(space.id.lowercased()) {
                content.spaces.append(ExportBundle.Space(id: space.id, name: space.name ?? space.id))
            }
        }
        return content
    }

    // MARK: - Helpers

    /// Rows of a table matching a condition (none when the database has no such table), within a space
    /// when given and the table has `SpaceId`.
    func rows(
        _ table: String,
        _ condition: String,
        _ parameters: [SQLValue],
        space: String? = nil
    ) throws(ExportImportError) -> [ExportedRow] {
        do {
            guard try database.tableExists(table) else { return [] }
            let info = try database.query("PRAGMA table_info([\(table)])")
            let nameIndex = info.columns.firstIndex(of: "name") ?? 1
            let columns = info.rows.compactMap { $0[nameIndex].text }.filter { $0 != "Id" && $0 != "JSON" }
            var sql = "SELECT [Id], [JSON]\(columns.map { ", [\($0)]" }.joined()) FROM [\(table)] WHERE (\(condition))"
            var values = parameters
            if let space, columns.contains("SpaceId") {
                sql += " AND SpaceId = ?"
                values.append(.text(space))
            }
            sql += " ORDER BY length(Id), Id"
            return try database.query(sql, values).rows.map { row in
                var found: [String: SQLValue] = [:]
                for (offset, column) in columns.enumerated() { found[column] = row[offset + 2] }
                let document =
                    row[1].text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
                return ExportedRow(
                    table: table,
                    id: row[0].text ?? row[0].description,
                    columns: found,
                    document: document
                )
            }
        } catch {
            throw ExportImportError.storage("read \(table) rows", error)
        }
    }

    /// ` AND IsFrozen = 0` when a table has `IsFrozen` (databases from before it have no snapshots).
    func notFrozen(_ table: String) throws(ExportImportError) -> String {
        do {
            guard try database.tableExists(table) else { return "" }
            return try ProjectDocuments.columns(of: table, in: database).contains("IsFrozen") ? " AND IsFrozen = 0" : ""
        } catch {
            throw ExportImportError.storage("read the columns of \(table)", error)
        }
    }

    /// `?, ?, …` for a list (one `NULL` for an empty list, which matches nothing).
    static func marks(_ values: [String]) -> String {
        values.isEmpty ? "NULL" : values.map { _ in "?" }.joined(separator: ", ")
    }

    /// Every string in a JSON value.
    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): [text]
        case .array(let elements): elements.flatMap { strings(in: $0) }
        case .object(let object): object.flatMap { strings(in: $0.value) }
        default: []
        }
    }

    /// Whether a string is an Id of the form `<prefix><digits>` (any case).
    static func isId(_ text: String, prefix: String) -> Bool {
        guard text.count > prefix.count, text.lowercased().hasPrefix(prefix.lowercased()) else { return false }
        return text.dropFirst(prefix.count).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Whether a release version matches the Migrator's `--releaseVersion`: empty or `*` matches all,
    /// `A-B` is an inclusive range (compared number by number), anything else must be equal.
    static func matches(_ version: String, _ expression: String?) -> Bool {
        guard let expression, !expression.isEmpty, expression != "*" else { return true }
        func numbers(_ text: String) -> [Int] {
            text.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        }
        func compare(_ left: [Int], _ right: [Int]) -> Int {
            for index in 0..<max(left.count, right.count) {
                let a = index < left.count ? left[index] : 0
                let b = index < right.count ? right[index] : 0
                if a != b { return a < b ? -1 : 1 }
            }
            return 0
        }
        let bounds = expression.split(separator: "-", maxSplits: 1).map(String.init)
        if bounds.count == 2, !bounds[0].isEmpty, !bounds[1].isEmpty, bounds[0].first?.isNumber == true {
            let value = numbers(version)
            return compare(value, numbers(bounds[0])) >= 0 && compare(value, numbers(bounds[1])) <= 0
        }
        return version == expression
    }
}
