import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

extension OctopusAPI {
    /// `/tasks` (paged, filters `states`, `active`, `name`, `ids`, `skip`, `take`), `/tasks/{id}`,
    /// `POST /tasks/{id}/cancel`, `GET /tasks/{id}/raw`. Without a space in the path every space's tasks
    /// are listed, as Octopus's `/api/tasks` does.
    func tasks(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let rest = context.rest
        let space = context.explicitSpace ? context.space : nil
        switch rest.count {
        case 1:
            try Self.allow(request, ["GET", "HEAD"])
            var query = APIListQuery()
            if let space {
                let includeSystem = try Self.boolean(request, "includeSystem") ?? false
                query.conditions.append(
                    (includeSystem ? "SpaceId = ? OR SpaceId IS NULL" : "SpaceId = ?", [.text(space)])
                )
            }
            let states = try Self.list(request, "states").map { state in
                guard let known = StandInTasks.states.first(where: { $0.lowercased() == state.lowercased() }) else {
                    throw APIError.badRequest(
                        "Unknown task state '\(state)'; states are \(StandInTasks.states.joined(separator: ", "))."
                    )
                }
                return known
            }
            if !states.isEmpty {
                query.conditions.append(
                    ("State IN (\(states.map { _ in "?" }.joined(separator: ", ")))", states.map { .text($0) })
                )
            }
            if let active = try Self.boolean(request, "active") {
                let marks = StandInTasks.activeStates.map { _ in "?" }.joined(separator: ", ")
                query.conditions.append(
                    ("State \(active ? "" : "NOT ")IN (\(marks))", StandInTasks.activeStates.sorted().map { .text($0) })
                )
            }
            query.name = request.queryValue("name").flatMap { $0.isEmpty ? nil : $0 }
            query.ids = Self.list(request, "ids")
            let skip = try Self.integer(request, "skip", default: 0) ?? 0
            let take = try Self.integer(request, "take", default: 30) ?? 30
            query.skip = skip
            query.take = take
            let result = try store.list("ServerTask", query, orderBy: "QueueTime DESC, length(Id) DESC, Id DESC")
            let link = space.map { "/api/\($0)/tasks" } ?? "/api/tasks"
            return .json(
                200,
                page(
                    itemType: "Task",
                    link: link,
                    template: "\(link){/id}{?skip,active,name,states,ids,take}",
                    request: request,
                    total: result.total,
                    items: result.rows.map(taskResource),
                    skip: skip,
                    take: take
                )
            )
        case 2, 3:
            guard let row = try store.row("ServerTask", id: rest[1], space: nil),
                space == nil || row.columns["SpaceId"]?.text == nil
                    || row.columns["SpaceId"]?.text?.lowercased() == space?.lowercased()
            else { throw APIError.notFound(rest[1]) }
            if rest.count == 2 {
                try Self.allow(request, ["GET", "HEAD"])
                return .json(200, taskResource(row))
            }
            switch rest[2].lowercased() {
            case "cancel":
                try Self.allow(request, ["POST"])
                return .json(200, try cancel(row, user: context.user))
            case "raw":
                try Self.allow(request, ["GET", "HEAD"])
                let path = StandInTasks.logPath(folders: try serverFolders(), taskId: row.id)
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return .text(200, text)
            default:
                throw unknownPath(request)
            }
        default:
            throw unknownPath(request)
        }
    }

    /// A task document: the stored document, the real columns, and what Octopus computes from `State`.
    func taskResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(StandInTasks.kind, row).objectValue ?? JSONValue.Object()
        let state = row.columns["State"]?.text ?? "Queued"
        let completed = !StandInTasks.activeStates.contains(state)
        let defaults: [(String, JSONValue)] = [
            ("Description", object["Name"] ?? .null), ("Arguments", .object([])), ("ErrorMessage", .string("")),
            ("StartTime", .null), ("CompletedTime", .null), ("ServerNode", .null), ("Duration", .string("")),
            ("HasWarningsOrErrors", .bool(false)), ("HasPendingInterruptions", .bool(false)),
            ("CanRerun", .bool(false)), ("QueueTimeExpiry", .null),
        ]
        for (key, value) in defaults where object[key] == nil { object[key] = value }
        object["IsCompleted"] = .bool(completed)
        object["FinishedSuccessfully"] = .bool(state == "Success")
        object["HasBeenPickedUpByProcessor"] = .bool(state != "Queued")
        var links = object["Links"]?.objectValue ?? JSONValue.Object()
        let selfLink = links["Self"]?.stringValue ?? "/api/tasks/\(row.id)"
        links["Raw"] = .string("\(selfLink)/raw")
        if !completed { links["Cancel"] = .string("\(selfLink)/cancel") }
        object["Links"] = .object(links)
        return .object(object)
    }

    /// Cancels a task: a queued one at once (`Canceled`), a running one through `Cancelling` (the runner
    /// stops it between targets); a finished task is left as it is.
    private func cancel(_ row: APIRow, user: APIUser) throws -> JSONValue {
        let changed = try store.with { database in
            try database.withTransaction { () throws -> String? in
                let state = try database.query("SELECT State FROM ServerTask WHERE Id = ?", [.text(row.id)])
                    .rows.first?.first?.text
                switch state {
                case "Queued":
                    try StandInTasks.update(
                        database,
                        id: row.id,
                        state: "Canceled",
                        members: [
                            ("CompletedTime", .string(OctopusTime.timestamp())),
                            ("ErrorMessage", .string("The task was canceled by \(user.name).")),
                        ]
                    )
                    return "Canceled"
                case "Executing":
                    try StandInTasks.update(database, id: row.id, state: "Cancelling", members: [])
                    return "Cancelling"
                default:
                    return nil
                }
            }
        }
        if let changed { log.info("\(user.name) canceled \(row.id): now \(changed).") }
        // A canceled queued export or import never runs: forget its password now.
        if changed == "Canceled" { _ = ExportImportPasswords.shared.take(database: runtime.databasePath, task: row.id) }
        guard let updated = try store.row("ServerTask", id: row.id, space: nil) else { throw APIError.notFound(row.id) }
        return taskResource(updated)
    }

    /// `/artifacts` (paged, `regarding`), `/artifacts/{id}`, `/artifacts/{id}/content` (the file under
    /// the Artifacts folder: `<ArtifactsDirectory>/<ServerTaskId lower-cased>/<Filename>`).
    func artifacts(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let rest = context.rest
        let kind = APIResourceKind.artifacts
        let space = version.hasSpaces ? context.space : nil
        try Self.allow(request, ["GET", "HEAD"])
        switch rest.count {
        case 1:
            var query = APIListQuery(space: space)
            query.ids = Self.list(request, "ids")
            if let regarding = request.queryValue("regarding"), !regarding.isEmpty {
                query.conditions.append(
                    (
                        "ServerTaskId = ? OR CASE WHEN json_valid(Artifact.JSON) THEN EXISTS (SELECT 1 FROM "
                            + "json_each(Artifact.JSON, '$.RelatedDocumentIds') WHERE value = ? COLLATE NOCASE) ELSE 0 END",
                        [.text(regarding), .text(regarding)]
                    )
                )
            }
            let skip = try Self.integer(request, "skip", default: 0) ?? 0
            let take = try Self.integer(request, "take", default: 30) ?? 30
            query.skip = skip
            query.take = take
            let result = try store.list(kind.table, query, orderBy: "length(Id) DESC, Id DESC")
            let link = builder.collectionLink(kind, space: space)
            return .json(
                200,
                page(
                    itemType: kind.itemType,
                    link: link,
                    template: "\(link){/id}{?skip,take,regarding,ids}",
                    request: request,
                    total: result.total,
                    items: result.rows.map(artifactResource),
                    skip: skip,
                    take: take
                )
            )
        case 2, 3:
            guard let row = try store.row(kind.table, id: rest[1], space: space) else {
                throw APIError.notFound(rest[1])
            }
            if rest.count == 2 { return .json(200, artifactResource(row)) }
            guard rest[2].lowercased() == "content" else { throw unknownPath(request) }
            return try artifactContent(row)
        default:
            throw unknownPath(request)
        }
    }

    private func artifactResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(.artifacts, row).objectValue ?? JSONValue.Object()
        var links = object["Links"]?.objectValue ?? JSONValue.Object()
        links["Content"] = .string("\(links["Self"]?.stringValue ?? "/api/artifacts/\(row.id)")/content")
        object["Links"] = .object(links)
        return .object(object)
    }

    private func artifactContent(_ row: APIRow) throws -> HTTPResponse {
        let filename = row.columns["Filename"]?.text ?? row.document["Filename"]?.stringValue ?? ""
        guard !filename.isEmpty, !filename.contains("/"), !filename.contains("\0"), filename != ".", filename != ".."
        else {
            throw APIError(status: 404, message: "The artifact \(row.id) has no usable file name ('\(filename)').")
        }
        let folder = (row.columns["ServerTaskId"]?.text ?? row.id).lowercased()
        let path = "\(try serverFolders().artifacts)/\(folder)/\(filename)"
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw APIError(
                status: 404,
                message:
                    "The content of the artifact \(row.id) is missing: there is no file \(path) in the Artifacts folder."
            )
        }
        let quoted = filename.replacingOccurrences(of: "\"", with: "'")
        return HTTPResponse(
            status: 200,
            headers: [
                ("Content-Type", "application/octet-stream"),
                ("Content-Disposition", "attachment; filename=\"\(quoted)\""),
            ],
            body: .file(path: path, size: Int(status.st_size))
        )
    }
}
