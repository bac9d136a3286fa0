import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Export/Import Projects ("Project Bento", 2021.1 and later, octopus-facts.md §4.5) over the REST API:
///
/// - `POST /api/{spaceId}/projects/import-export/export` `{"IncludedProjectIds": […], "Password":
///   {"HasValue": true, "NewValue": "…"}}` → `{"TaskId": "ServerTasks-N"}`; the `ExportProjects` task
///   writes `Octopus-Export-*.zip` as the task's artifact.
/// - `POST …/import-files` (multipart, field `fileData`) stores a zip in the Imports folder;
///   `GET …/import-files` lists them.
/// - `POST …/import` `{"ImportSource": {"Type": "upload", "UploadedFileId": "<file name>"} | {"Type":
///   "space", "SpaceId", "TaskId"}, "Password": {…}}` → `{"TaskId"}`; the `ImportProjects` task imports.
///
/// The password never reaches the database or a log: it waits in ``ExportImportPasswords`` until the
/// task runs.
extension OctopusAPI {
    /// The tasks' names, as Octopus names them.
    static let exportTaskName = "ExportProjects"
    static let importTaskName = "ImportProjects"

    /// `/projects/import-export/…`: 404 before 2021.1.
    func importExport(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        guard version.hasImportExport else { throw unknownPath(request) }
        let action = context.rest.dropFirst(2).map { $0.lowercased() }.joined(separator: "/")
        switch action {
        case "export":
            try Self.allow(request, ["POST"])
            return try startExport(context)
        case "import":
            try Self.allow(request, ["POST"])
            return try startImport(context)
        case "import-files":
            try Self.allow(request, ["GET", "HEAD", "POST"])
            return request.method == "POST" ? try upload(context) : try uploadedFiles(context)
        case "import/preview":
            // The facts list the endpoint but not what it answers; the stand-in does not guess.
            try Self.allow(request, ["POST"])
            return APIError(
                status: 501,
                message: "Previewing an import (\(request.path)) is not implemented by the stand-in: Octopus does not "
                    + "document what it answers. Import with POST …/projects/import-export/import."
            ).response
        default:
            throw unknownPath(request)
        }
    }

    // MARK: - Requests

    private func startExport(_ context: APIContext) throws -> HTTPResponse {
        let body = try Self.jsonObject(context.request)
        let password = try Self.password(body, verb: "export")
        guard let list = body["IncludedProjectIds"]?.arrayValue, !list.isEmpty else {
            throw APIError.badRequest("IncludedProjectIds must list the Ids of the projects to export.")
        }
        let requested = try list.map { value in
            guard let id = value.stringValue, !id.isEmpty else {
                throw APIError.badRequest("IncludedProjectIds must hold project Ids (strings).")
            }
            return id
        }
        var projects: [(id: String, name: String)] = []
        var missing: [String] = []
        for id in requested {
            if let row = try store.row("Project", id: id, space: context.space) {
                if !projects.contains(where: { $0.id == row.id }) {
                    projects.append((row.id, row.columns["Name"]?.text ?? row.id))
                }
            } else {
                missing.append(id)
            }
        }
        guard missing.isEmpty else {
            throw APIError.badRequest(
                "These projects do not exist in \(context.space ?? "this instance"): \(missing.joined(separator: ", "))."
            )
        }
        let taskId = try queue(
            name: Self.exportTaskName,
            description: "Export projects: \(projects.map(\.name).joined(separator: ", "))",
            space: context.space,
            arguments: [
                ("IncludedProjectIds", .array(projects.map { .string($0.id) })),
                ("SpaceId", context.space.map { .string($0) } ?? .null),
            ],
            password: password
        )
        log.info(
            "\(context.user.name) queued \(taskId) (export of \(projects.count) project(s) from \(context.space ?? ""))."
        )
        return .json(200, .object([("TaskId", .string(taskId))]))
    }

    private func startImport(_ context: APIContext) throws -> HTTPResponse {
        let body = try Self.jsonObject(context.request)
        let password = try Self.password(body, verb: "import")
        guard let source = body["ImportSource"]?.objectValue else {
            throw APIError.badRequest(
                "ImportSource is required: {\"Type\": \"upload\", \"UploadedFileId\": \"<file name>\"} or "
                    + "{\"Type\": \"space\", \"SpaceId\": \"…\", \"TaskId\": \"…\"}."
            )
        }
        // The docs' samples: Type must be lower case.
        let type = source["Type"]?.stringValue ?? ""
        guard type == "upload" || type == "space" else {
            throw APIError.badRequest(
                "ImportSource.Type must be \"upload\" or \"space\" (lower case), not \"\(type)\"."
            )
        }
        let described = try exportFile(source, space: context.space).description
        let taskId = try queue(
            name: Self.importTaskName,
            description: "Import projects from \(described)",
            space: context.space,
            arguments: [("ImportSource", .object(source)), ("SpaceId", context.space.map { .string($0) } ?? .null)],
            password: password
        )
        log.info("\(context.user.name) queued \(taskId) (import into \(context.space ?? "") from \(described)).")
        return .json(200, .object([("TaskId", .string(taskId))]))
    }

    /// `POST import-files`: stores the upload's `fileData` as `<ImportsDirectory>/<space>/<file name>`
    /// (replacing a file of that name). Octopus does not document the answer; the stand-in answers
    /// `{"Id", "FileName", "UploadedFileId", "SpaceId", "Size"}`, all naming the file name, which is what
    /// the docs' sample passes as `UploadedFileId` (API:REST/PowerShell/Projects/ExportImportProjects.ps1).
    private func upload(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        guard let boundary = HTTPMultipart.boundary(contentType: request.header("Content-Type") ?? "") else {
            throw APIError.badRequest("import-files takes a multipart/form-data upload with a fileData field.")
        }
        let parts: [HTTPMultipartPart]
        do {
            parts = try HTTPMultipart.parse(body: request.body, boundary: boundary)
        } catch {
            throw APIError.badRequest(error.message)
        }
        guard let file = parts.first(where: { $0.name == "fileData" }) else {
            throw APIError.badRequest(
                "The upload has no fileData field (it has: \(parts.map(\.name).joined(separator: ", ")))."
            )
        }
        let name = try Self.uploadName(file.filename ?? "")
        guard ZipArchive.looksLikeZip(file.data) else {
            throw APIError.badRequest(
                "The uploaded file \(name) is not a zip file; upload the Octopus-Export-*.zip of an export."
            )
        }
        let folder = try importsFolder(space: context.space)
        let path = "\(folder)/\(name)"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(file.data).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw APIError(status: 500, message: "Cannot store the upload as \(path): \(error)")
        }
        log.info("\(context.user.name) uploaded \(name) (\(file.data.count) bytes) to \(folder).")
        return .json(200, uploadResource(name: name, size: file.data.count, space: context.space))
    }

    /// `GET import-files`: the uploads of the space, as an array (the shape is the stand-in's).
    private func uploadedFiles(_ context: APIContext) throws -> HTTPResponse {
        let folder = try importsFolder(space: context.space)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        var items: [JSONValue] = []
        for name in names {
            var status = stat()
            guard stat("\(folder)/\(name)", &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { continue }
            items.append(uploadResource(name: name, size: Int(status.st_size), space: context.space))
        }
        return .json(200, .array(items))
    }

    private func uploadResource(name: String, size: Int, space: String?) -> JSONValue {
        .object([
            ("Id", .string(name)), ("FileName", .string(name)), ("UploadedFileId", .string(name)),
            ("SpaceId", space.map { .string($0) } ?? .null), ("Size", .integer(Int64(size))),
        ])
    }

    /// `Password: {"HasValue": true, "NewValue": "…"}` with a non-empty value.
    private static func password(_ body: JSONValue.Object, verb: String) throws -> String {
        guard let password = body["Password"]?.objectValue, password["HasValue"]?.boolValue == true,
            let value = password["NewValue"]?.stringValue, !value.isEmpty
        else {
            throw APIError.badRequest(
                "A password is required to \(verb) projects: Password must be {\"HasValue\": true, \"NewValue\": \"…\"}."
            )
        }
        return value
    }

    /// A file name for an upload: the last path component, letters, digits, spaces, `.`, `_`, `-`, `(`, `)`.
    private static func uploadName(_ given: String) throws -> String {
        let name = String(given.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
        guard !name.isEmpty, name != ".", name != "..", name.utf8.count <= 200,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || " ._-()".contains($0)) })
        else {
            throw APIError.badRequest(
                "The upload's file name '\(given)' is not usable; name it like Octopus-Export-….zip (letters, "
                    + "digits, '.', '_', '-')."
            )
        }
        return name
    }

    /// The space's folder under the Imports folder.
    private func importsFolder(space: String?) throws -> String {
        let imports =
            try serverFolders().document["ImportsDirectory"]?.stringValue ?? "\(runtime.homeDirectory)/Imports"
        return "\(imports)/\((space ?? "default").lowercased())"
    }

    /// Where an `ImportSource` points: an uploaded file, or the export artifact of a task on this instance.
    private func exportFile(
        _ source: JSONValue.Object,
        space: String?
    ) throws -> (path: String, description: String) {
        if source["Type"]?.stringValue == "upload" {
            guard let id = source["UploadedFileId"]?.stringValue, !id.isEmpty else {
                throw APIError.badRequest("ImportSource.UploadedFileId must name a file uploaded to import-files.")
            }
            let name = try Self.uploadName(id)
            let path = "\(try importsFolder(space: space))/\(name)"
            guard FileManager.default.fileExists(atPath: path) else {
                throw APIError.badRequest(
                    "There is no uploaded file \(name) in \(space ?? "this instance"); upload it with POST "
                        + "…/projects/import-export/import-files first."
                )
            }
            return (path, "the uploaded file \(name)")
        }
        guard let taskId = source["TaskId"]?.stringValue, !taskId.isEmpty,
            let sourceSpace = source["SpaceId"]?.stringValue, !sourceSpace.isEmpty
        else { throw APIError.badRequest("An ImportSource of Type \"space\" needs SpaceId and TaskId.") }
        let artifacts = try store.list(
            "Artifact",
            APIListQuery(
                space: sourceSpace,
                conditions: [("ServerTaskId = ? AND Filename LIKE 'Octopus-Export-%.zip'", [.text(taskId)])]
            )
        ).rows
        guard let artifact = artifacts.first, let filename = artifact.columns["Filename"]?.text else {
            throw APIError.badRequest(
                "The task \(taskId) in \(sourceSpace) has no Octopus-Export-*.zip artifact; export the projects first."
            )
        }
        let path = "\(try serverFolders().artifacts)/\(taskId.lowercased())/\(filename)"
        return (path, "the export of \(taskId) (\(filename))")
    }

    /// Queues a task and holds its password until it runs (both under the store's lock, so the scheduler
    /// never claims the task before its password is there).
    private func queue(
        name: String,
        description: String,
        space: String?,
        arguments: [(String, JSONValue)],
        password: String
    ) throws -> String {
        try store.with { database in
            let id = try database.withTransaction {
                try StandInTasks.create(
                    database,
                    name: name,
                    description: description,
                    spaceId: space,
                    arguments: JSONValue.Object(arguments)
                )
            }
            ExportImportPasswords.shared.hold(password, database: runtime.databasePath, task: id)
            return id
        }
    }

    // MARK: - Running the tasks

    /// Runs an `ExportProjects` or `ImportProjects` task for the scheduler.
    /// - Returns: The task's final state, error message and whether it had warnings.
    func runExportImportTask(
        _ id: String,
        name: String,
        spaceId: String?,
        arguments: JSONValue.Object,
        write: (String, String) -> Void
    ) -> (state: String, error: String, warnings: Bool) {
        guard let password = ExportImportPasswords.shared.take(database: runtime.databasePath, task: id) else {
            return (
                "Failed",
                "The \(name == Self.exportTaskName ? "export" : "import") password is no longer held by this server "
                    + "(it restarted after the task was queued); start the \(name == Self.exportTaskName ? "export" : "import") again.",
                true
            )
        }
        do {
            if name == Self.exportTaskName {
                return try runExport(id, spaceId: spaceId, arguments: arguments, password: password, write: write)
            }
            return try runImport(id, spaceId: spaceId, arguments: arguments, password: password, write: write)
        } catch let error as ExportImportError {
            write("Error", error.message)
            return ("Failed", error.message, true)
        } catch let error as APIError {
            write("Error", error.message)
            return ("Failed", error.message, true)
        } catch {
            let message = "The \(name) task failed: \(error)"
            write("Error", message)
            return ("Failed", message, true)
        }
    }

    /// This server's version, which an export records and an import compares with the bundle's.
    private func serverVersion() throws(ExportImportError) -> StandInVersion {
        guard let version = StandInVersion(runtime.version) else {
            throw ExportImportError(.storage, "This server's version \(runtime.version) is not an Octopus version.")
        }
        return version
    }

    private func runExport(
        _ id: String,
        spaceId: String?,
        arguments: JSONValue.Object,
        password: String,
        write: (String, String) -> Void
    ) throws -> (state: String, error: String, warnings: Bool) {
        let sourceVersion = try serverVersion()
        let projectIds = BehaviourScheduler.ids(arguments["IncludedProjectIds"])
        let protection = try ExportPassword(newPassword: password)
        let content = try store.with { database in
            try ProjectExporter(database: database, masterKey: runtime.masterKey, options: .exportProjects)
                .export(projectIds: projectIds, protect: protection.encrypt)
        }
        let now = Date()
        let bundle = ExportBundle(
            kind: .exportProjects,
            octopusVersion: sourceVersion,
            exportedAt: OctopusTime.timestamp(now),
            serverTaskId: id,
            spaces: content.spaces,
            projects: content.projects,
            references: content.references,
            rows: content.rows,
            protection: protection.protection
        )
        for project in content.projects { write("Info", "Exporting project '\(project.name)' (\(project.id)).") }
        write("Info", "Included: \(Self.counts(content.rows)).")
        if !content.references.isEmpty {
            write(
                "Info",
                "Not exported, matched by name on import (the default lifecycle's environments): "
                    + content.references.map(\.name).joined(separator: ", ") + "."
            )
        }
        write(
            "Info",
            "Never exported: triggers, deployment targets, workers, packages, releases, deployments and runbook runs, "
                + "audit events, users."
        )
        let zip = ZipArchive.write(bundle.files(), date: now)
        let filename = "Octopus-Export-\(Self.compactTime(now))-\(id).zip"
        let folder = "\(try serverFolders().artifacts)/\(id.lowercased())"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(zip).write(to: URL(fileURLWithPath: "\(folder)/\(filename)"), options: .atomic)
        } catch {
            throw ExportImportError(.storage, "Cannot write the export \(folder)/\(filename): \(error)")
        }
        try store.with { database in
            try database.withTransaction {
                let artifactId = try StandInStore.nextId(database, table: "Artifact", prefix: "Artifacts")
                let document = JSONValue.object([
                    ("Id", .string(artifactId)), ("SpaceId", spaceId.map { .string($0) } ?? .null),
                    ("Filename", .string(filename)), ("Source", .string(Self.exportTaskName)),
                    ("ServerTaskId", .string(id)), ("Created", .string(OctopusTime.timestamp(now))),
                    ("LogCorrelationId", .null), ("RelatedDocumentIds", .array([.string(id)])),
                ])
                try database.run(
                    "INSERT INTO Artifact (Id, SpaceId, ServerTaskId, Filename, [JSON]) VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(artifactId), spaceId.map { .text($0) } ?? .null, .text(id), .text(filename),
                        .text(document.serialized()),
                    ]
                )
            }
        }
        write("Info", "The export is attached to this task as the artifact \(filename) (\(zip.count) bytes).")
        return ("Success", "", false)
    }

    private func runImport(
        _ id: String,
        spaceId: String?,
        arguments: JSONValue.Object,
        password: String,
        write: (String, String) -> Void
    ) throws -> (state: String, error: String, warnings: Bool) {
        let targetVersion = try serverVersion()
        let source = arguments["ImportSource"]?.objectValue ?? JSONValue.Object()
        let file = try exportFile(source, space: spaceId)
        write("Info", "Importing from \(file.description).")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ExportImportError(.notFound, "Cannot read \(file.path) (\(file.description)).")
        }
        let entries: [ZipArchive.Entry]
        do {
            entries = try ZipArchive.read(Array(data))
        } catch {
            throw ExportImportError(
                .malformed,
                "\(file.description) is not an export the stand-in can import: \(error.description)."
            )
        }
        let bundle = try ExportBundle.parse(entries, source: file.description)
        guard bundle.kind == .exportProjects else {
            throw ExportImportError(
                .malformed,
                "\(file.description) was made by Octopus.Migrator partial-export; import it with Octopus.Migrator import."
            )
        }
        guard bundle.octopusVersion <= targetVersion else {
            throw ExportImportError(
                .newerVersion,
                "The export was made by Octopus Server \(bundle.octopusVersion), newer than this Octopus Server "
                    + "(\(targetVersion)); Export/Import Projects cannot move projects to an older version. Import "
                    + "into Octopus Server \(bundle.octopusVersion) or later."
            )
        }
        let unlocked = try ExportPassword(password: password, unlocking: bundle.protection)
        let summary = try store.with { database in
            try ProjectImporter(
                database: database,
                masterKey: runtime.masterKey,
                options: .exportProjects(into: spaceId)
            ).apply(bundle, password: unlocked)
        }
        for line in summary.lines { write("Info", line) }
        for warning in summary.warnings { write("Warning", warning) }
        write(
            "Info",
            "Imported \(summary.imported.count) project(s) into \(spaceId ?? "the instance"): "
                + summary.imported.joined(separator: ", ") + "."
        )
        return ("Success", "", !summary.warnings.isEmpty)
    }

    /// `3 Project, 3 Channel, …` in table order.
    static func counts(_ rows: [ExportedRow]) -> String {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for row in rows {
            if counts[row.table] == nil { order.append(row.table) }
            counts[row.table, default: 0] += 1
        }
        return order.isEmpty ? "nothing" : order.map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
    }

    /// `yyyyMMdd-HHmmss` in UTC.
    static func compactTime(_ date: Date) -> String {
        let stamp = OctopusTime.timestamp(date)  // 2026-11-24T16:48:39.334+00:00
        let digits = stamp.prefix(19).filter { $0.isNumber }
        return "\(digits.prefix(8))-\(digits.dropFirst(8))"
    }
}

/// Export and import passwords between the request that queues a task and the task's run, in memory
/// only: never written to the database, a log or the task's document. Keyed by the database and task, so
/// several servers in one process (tests) do not mix them up.
final class ExportImportPasswords: @unchecked Sendable {
    static let shared = ExportImportPasswords()

    private let lock = NSLock()
    private var passwords: [String: String] = [:]

    func hold(_ password: String, database: String, task: String) {
        lock.lock()
        defer { lock.unlock() }
        passwords["\(database)\n\(task.lowercased())"] = password
    }

    /// The password of a task, removed from memory.
    func take(database: String, task: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return passwords.removeValue(forKey: "\(database)\n\(task.lowercased())")
    }
}
