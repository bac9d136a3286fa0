import Foundation
import Wire

extension OctopusAPI {
    /// Filters some collections take on their JSON documents: query parameter → JSON path, and whether
    /// the path holds an array (any element matches) or a single value.
    private static let documentFilters: [String: [(parameter: String, path: String, isArray: Bool)]] = [
        "machines": [
            ("environmentIds", "$.EnvironmentIds", true), ("roles", "$.Roles", true),
            ("healthStatuses", "$.HealthStatus", false),
        ],
        "workers": [("workerPoolIds", "$.WorkerPoolIds", true), ("healthStatuses", "$.HealthStatus", false)],
    ]

    /// `GET /{collection}` (paged), `GET /{collection}/all`, `GET|PUT /{collection}/{id}`.
    func collection(_ kind: APIResourceKind, _ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let rest = context.rest
        let space = kind.spaceScoped && version.hasSpaces ? context.space : nil
        switch rest.count {
        case 1:
            try Self.allow(request, ["GET", "HEAD"])
            var query = try listQuery(kind, request, space: space)
            let skip = query.skip
            let take = query.take ?? 30
            query.take = take
            let result = try store.list(kind.table, query)
            let link = builder.collectionLink(kind, space: space)
            return .json(
                200,
                page(
                    itemType: kind.itemType,
                    link: link,
                    template: "\(link){/id}"
                        + (kind.queryTemplate
                            ?? "{?skip,take,ids,partialName,name"
                            + (store.hasColumn(kind.table, "IsDisabled") ? ",isDisabled}" : "}")),
                    request: request,
                    total: result.total,
                    items: try result.rows.map { try resource(kind, $0) },
                    skip: skip,
                    take: take
                )
            )
        case 2 where rest[1].lowercased() == "all":
            try Self.allow(request, ["GET", "HEAD"])
            var query = try listQuery(kind, request, space: space)
            query.skip = 0
            query.take = nil
            return .json(200, .array(try store.list(kind.table, query).rows.map { try resource(kind, $0) }))
        case 2:
            try Self.allow(request, kind.writable ? ["GET", "HEAD", "PUT"] : ["GET", "HEAD"])
            if request.method == "PUT" {
                return .json(200, try replace(kind, id: rest[1], space: space, context: context))
            }
            guard let row = try store.row(kind.table, id: rest[1], space: space) else {
                throw APIError.notFound(rest[1])
            }
            return .json(200, try resource(kind, row))
        default:
            throw unknownPath(request)
        }
    }

    /// `/projects/{id}/deploymentprocesses`, `/projects/{id}/releases`, `/projects/{id}/channels[/{id}]`.
    func projectChild(_ context: APIContext) throws -> HTTPResponse {
        guard let project = try store.row("Project", id: context.rest[1], space: scopedSpace(context)) else {
            throw APIError.notFound(context.rest[1])
        }
        if context.rest[2].lowercased() == "channels", context.rest.count <= 4, store.hasTable("Channel") {
            return try projectChannels(context, project: project)
        }
        guard context.rest.count == 3 else { throw unknownPath(context.request) }
        switch context.rest[2].lowercased() {
        case "deploymentprocesses" where store.hasTable("DeploymentProcess"):
            return try projectDeploymentProcess(context, project: project)
        case "releases" where store.hasTable("Release"):
            return try projectReleases(context, project: project)
        default:
            throw unknownPath(context.request)
        }
    }

    /// The filters of a list request.
    func listQuery(_ kind: APIResourceKind, _ request: HTTPRequest, space: String?) throws -> APIListQuery {
        var query = APIListQuery(space: space)
        query.isDisabled = try Self.boolean(request, "isDisabled")
        query.ids = Self.list(request, "ids")
        query.partialName = request.queryValue("partialName").flatMap { $0.isEmpty ? nil : $0 }
        query.name = request.queryValue("name").flatMap { $0.isEmpty ? nil : $0 }
        query.skip = try Self.integer(request, "skip", default: 0) ?? 0
        query.take = try Self.integer(request, "take", default: nil)
        for filter in Self.documentFilters[kind.collection] ?? [] {
            let values = Self.list(request, filter.parameter)
            guard !values.isEmpty else { continue }
            let marks = values.map { _ in "?" }.joined(separator: ", ")
            // Qualified: inside json_each's subquery a bare JSON names json_each's own column.
            let column = "[\(kind.table)].JSON"
            let sql =
                filter.isArray
                ? "CASE WHEN json_valid(\(column)) THEN EXISTS (SELECT 1 FROM json_each(\(column), '\(filter.path)') "
                    + "WHERE value IN (\(marks))) ELSE 0 END"
                : "CASE WHEN json_valid(\(column)) THEN json_extract(\(column), '\(filter.path)') IN (\(marks)) ELSE 0 END"
            query.conditions.append((sql, values.map { .text($0) }))
        }
        return query
    }

    /// The resource document of a row, with what each kind adds.
    func resource(_ kind: APIResourceKind, _ row: APIRow) throws -> JSONValue {
        switch kind.table {
        case "OctopusServerNode":
            var object = builder.resource(kind, row).objectValue ?? JSONValue.Object()
            if store.hasTable("OctopusServerNodeStatus") {
                let lastSeen = try store.with { database in
                    try database.query("SELECT LastSeen FROM OctopusServerNodeStatus WHERE Id = ?", [.text(row.id)])
                        .rows.first?.first?.text
                }
                if let lastSeen { object["LastSeen"] = .string(lastSeen) }
            }
            return .object(object)
        case "Project":
            // Every Octopus project names its process and variable set; older stand-in seeds did not store them.
            var object = builder.resource(kind, row).objectValue ?? JSONValue.Object()
            let processId = object["DeploymentProcessId"]?.stringValue ?? ProjectDocuments.processId(project: row.id)
            let variableSetId = object["VariableSetId"]?.stringValue ?? ProjectDocuments.variableSetId(project: row.id)
            object["DeploymentProcessId"] = .string(processId)
            object["VariableSetId"] = .string(variableSetId)
            // Every Octopus project names its lifecycle; one written without it uses its space's default.
            object["LifecycleId"] = try projectLifecycleId(row, document: object).map { .string($0) } ?? .null
            let space = row.columns["SpaceId"]?.text
            var links = object["Links"]?.objectValue ?? JSONValue.Object()
            let selfLink = "\(builder.collectionLink(kind, space: space))/\(row.id)"
            links["DeploymentProcess"] = .string("\(selfLink)/deploymentprocesses")
            links["Variables"] = .string("\(builder.collectionLink(.variables, space: space))/\(variableSetId)")
            links["Releases"] = .string("\(selfLink)/releases{/version}{?skip,take,searchByVersion}")
            links["Channels"] = .string("\(selfLink)/channels{/id}{?skip,take,partialName}")
            object["Links"] = .object(links)
            return .object(object)
        case "Channel":
            return channelResource(row)
        case "Lifecycle":
            return lifecycleResource(row)
        case "Space":
            var object = builder.resource(kind, row).objectValue ?? JSONValue.Object()
            var links = object["Links"]?.objectValue ?? JSONValue.Object()
            links["SpaceHome"] = .string("/api/\(row.id)")
            object["Links"] = .object(links)
            return .object(object)
        default:
            return builder.resource(kind, row)
        }
    }

    /// `PUT /{collection}/{id}`: replaces the document and keeps the real columns in step with it.
    private func replace(_ kind: APIResourceKind, id: String, space: String?, context: APIContext) throws -> JSONValue {
        let body = try Self.jsonObject(context.request)
        guard let row = try store.row(kind.table, id: id, space: space) else { throw APIError.notFound(id) }
        if let bodyId = body["Id"], !bodyId.isNull, bodyId.stringValue?.lowercased() != row.id.lowercased() {
            throw APIError.badRequest(
                "The Id in the body (\(bodyId)) does not match the resource \(row.id) in the path."
            )
        }
        let rowSpace = row.columns["SpaceId"]?.text
        if version.hasSpaces, let bodySpace = body["SpaceId"], !bodySpace.isNull,
            bodySpace.stringValue?.lowercased() != rowSpace?.lowercased()
        {
            throw APIError.badRequest(
                "\(row.id) is in \(rowSpace ?? "no space"); the stand-in cannot move it to \(bodySpace)."
            )
        }
        var document = body
        document["Links"] = nil
        document["Id"] = .string(row.id)
        var assignments: [(column: String, value: SQLValue)] = []
        for column in store.mirrored(kind.table) {
            switch column.name {
            case "SpaceId", "State", "QueueTime", "ServerTaskId", "Filename":
                continue
            case "Name":
                guard let name = body["Name"]?.stringValue, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw APIError.badRequest("Please provide a Name for \(row.id).")
                }
                assignments.append(("Name", .text(name)))
            default:
                switch (column.type, body[column.name]) {
                case (.bool, .none), (.bool, .some(.null)):
                    // PUT replaces the resource: an absent flag is false, as Octopus's model defaults it.
                    assignments.append((column.name, .integer(0)))
                    document[column.name] = .bool(false)
                case (.bool, .some(.bool(let flag))):
                    assignments.append((column.name, .integer(flag ? 1 : 0)))
                case (.integer, .some(let value)) where value.integerValue != nil:
                    assignments.append((column.name, .integer(value.integerValue ?? 0)))
                case (.text, .some(.string(let text))):
                    assignments.append((column.name, .text(text)))
                case (_, .none), (.text, .some(.null)), (.integer, .some(.null)):
                    // Not given: the column keeps its value, and the document shows it.
                    if let kept = row.columns[column.name] {
                        document[column.name] = APIResourceBuilder.json(kept, column.type)
                    }
                case (_, .some(let value)):
                    throw APIError.badRequest("\(column.name) must be a \(column.type) value, not \(value).")
                }
            }
        }
        if version.hasSpaces, let rowSpace { document["SpaceId"] = .string(rowSpace) }
        if kind.table == "Project" {
            // The server's own members: which process and variable set the project owns, and who changed it when.
            document["DeploymentProcessId"] = .string(
                row.document["DeploymentProcessId"]?.stringValue ?? ProjectDocuments.processId(project: row.id)
            )
            document["VariableSetId"] = .string(
                row.document["VariableSetId"]?.stringValue ?? ProjectDocuments.variableSetId(project: row.id)
            )
            document["LastModifiedOn"] = .string(OctopusTime.timestamp())
            document["LastModifiedBy"] = .string(context.user.name)
        }
        let name = body["Name"]?.stringValue ?? row.id
        let setList = (assignments.map { "[\($0.column)] = ?" } + ["JSON = ?"]).joined(separator: ", ")
        let parameters = assignments.map(\.value) + [.text(JSONValue.object(document).serialized()), .text(row.id)]
        try store.with { database in
            try database.withTransaction {
                try database.run("UPDATE [\(kind.table)] SET \(setList) WHERE Id = ?", parameters)
                try StandInEvents.record(
                    database,
                    category: "Modified",
                    spaceId: rowSpace,
                    message: "\(kind.itemType) \(name) (\(row.id)) was modified",
                    related: [row.id],
                    actor: context.user.actor
                )
            }
        }
        log.info("\(context.user.name) replaced \(row.id) through PUT \(context.request.path).")
        guard let updated = try store.row(kind.table, id: row.id, space: nil) else { throw APIError.notFound(row.id) }
        return try resource(kind, updated)
    }
}
