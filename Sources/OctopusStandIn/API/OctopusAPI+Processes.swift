import Foundation
import Wire

/// A row of `DeploymentProcess` or `VariableSet` read inside a transaction.
struct OwnedDocument {
    var id: String
    var document: JSONValue.Object
    var spaceId: String?
    var ownerId: String?
    var isFrozen: Bool

    /// `Version` of the document (0 when it has none, as for a set or process never saved).
    var version: Int64 { document["Version"]?.integerValue ?? 0 }

    /// Reads one row by Id (case-insensitive), within a space when given.
    static func read(
        _ database: SQLiteDatabase,
        table: String,
        id: String,
        space: String?
    ) throws -> OwnedDocument? {
        let columns = Set(try ProjectDocuments.columns(of: table, in: database))
        let frozen = columns.contains("IsFrozen") ? "IsFrozen" : "0"
        var sql = "SELECT Id, [JSON], SpaceId, OwnerId, \(frozen) FROM [\(table)] WHERE Id = ?"
        var parameters: [SQLValue] = [.text(id)]
        if let space {
            sql += " AND SpaceId = ?"
            parameters.append(.text(space))
        }
        guard let row = try database.query(sql, parameters).rows.first else { return nil }
        return OwnedDocument(
            id: row[0].text ?? id,
            document: row[1].text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object(),
            spaceId: row[2].text,
            ownerId: row[3].text,
            isFrozen: (row[4].integer ?? 0) != 0
        )
    }
}

extension OctopusAPI {
    /// Octopus's refusals of a stale or frozen deployment process and variable set (its API's 400 answers).
    static let staleProcess =
        "Changes to this process could not be saved, because another user has made changes to the process between "
        + "when you started editing and when you saved your changes. Please reload or open a new tab to make your changes."
    static let frozenProcess =
        "You cannot modify this process because it is frozen. You'll need to create a new process instead."
    static let staleVariables =
        "Changes to these variables could not be saved, because another user has made changes to the variables "
        + "between when you started editing and when you saved your changes. Please reload or open a new tab to make "
        + "your changes."
    static let frozenVariables =
        "You cannot modify this variable set because the set is frozen. You'll need to create a new variable set instead."

    /// The space of a space-scoped request (`nil` before 2019.1).
    func scopedSpace(_ context: APIContext) -> String? {
        version.hasSpaces ? context.space : nil
    }

    // MARK: Deployment processes

    /// `GET /deploymentprocesses` (paged, the projects' processes, not release snapshots), `GET|PUT
    /// /deploymentprocesses/{id}` (a release's snapshot can be read, not changed).
    func deploymentProcesses(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let space = scopedSpace(context)
        switch context.rest.count {
        case 1:
            try Self.allow(request, ["GET", "HEAD"])
            var query = APIListQuery(space: space)
            query.ids = Self.list(request, "ids")
            query.skip = try Self.integer(request, "skip", default: 0) ?? 0
            let take = try Self.integer(request, "take", default: 30) ?? 30
            query.take = take
            if store.hasColumn("DeploymentProcess", "IsFrozen") { query.conditions.append(("IsFrozen = 0", [])) }
            let result = try store.list("DeploymentProcess", query)
            let link = builder.collectionLink(.deploymentProcesses, space: space)
            return .json(
                200,
                page(
                    itemType: APIResourceKind.deploymentProcesses.itemType,
                    link: link,
                    template: "\(link){/id}{?skip,take,ids}",
                    request: request,
                    total: result.total,
                    items: result.rows.map { processResource($0) },
                    skip: query.skip,
                    take: take
                )
            )
        case 2:
            try Self.allow(request, ["GET", "HEAD", "PUT"])
            if request.method == "PUT" {
                return .json(200, try replaceProcess(context.rest[1], space: space, context: context))
            }
            guard let row = try store.row("DeploymentProcess", id: context.rest[1], space: space) else {
                throw APIError.notFound(context.rest[1])
            }
            return .json(200, processResource(row))
        default:
            throw unknownPath(request)
        }
    }

    /// `GET|PUT /projects/{id}/deploymentprocesses`: the project's own process.
    func projectDeploymentProcess(_ context: APIContext, project: APIRow) throws -> HTTPResponse {
        try Self.allow(context.request, ["GET", "HEAD", "PUT"])
        let space = scopedSpace(context)
        let processId = try liveProcessId(of: project)
        if context.request.method == "PUT" {
            return .json(200, try replaceProcess(processId, space: space, context: context))
        }
        guard let row = try store.row("DeploymentProcess", id: processId, space: nil) else {
            throw APIError.notFound(processId)
        }
        return .json(200, processResource(row))
    }

    /// The Id of a project's own (not frozen) process: the one its document names, else the one it owns.
    func liveProcessId(of project: APIRow) throws -> String {
        if let named = project.document["DeploymentProcessId"]?.stringValue { return named }
        let frozen = store.hasColumn("DeploymentProcess", "IsFrozen") ? " AND IsFrozen = 0" : ""
        let owned = try store.with { database in
            try database.query(
                "SELECT Id FROM DeploymentProcess WHERE OwnerId = ?\(frozen) ORDER BY length(Id), Id LIMIT 1",
                [.text(project.id)]
            ).rows.first?.first?.text
        }
        return owned ?? ProjectDocuments.processId(project: project.id)
    }

    /// A process as Octopus shows it: `ProjectId` (the owner), `Version`, `Steps`, `LastSnapshotId`,
    /// `LastModifiedOn`/`LastModifiedBy` when it was saved, `Links`.
    func processResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(.deploymentProcesses, row).objectValue ?? JSONValue.Object()
        let owner = row.columns["OwnerId"]?.text ?? object["ProjectId"]?.stringValue
        object["OwnerId"] = nil
        object["ProjectId"] = owner.map { .string($0) } ?? .null
        object["Version"] = .integer(object["Version"]?.integerValue ?? 0)
        if object["Steps"]?.arrayValue == nil { object["Steps"] = .array([]) }
        if object["LastSnapshotId"] == nil { object["LastSnapshotId"] = .null }
        var links = object["Links"]?.objectValue ?? JSONValue.Object()
        if let owner {
            links["Project"] = .string(
                "\(builder.collectionLink(.projects, space: row.columns["SpaceId"]?.text))/\(owner)"
            )
        }
        object["Links"] = .object(links)
        return .object(object)
    }

    /// `PUT` of a deployment process: the whole resource with the `Version` it was loaded at; a stale
    /// `Version` or a frozen (release) snapshot is refused as Octopus refuses them. The stored `Version` goes
    /// up by one; `LastModifiedOn`/`LastModifiedBy` record the change; steps and actions without an `Id` get
    /// one. Records a `Modified` event.
    private func replaceProcess(_ id: String, space: String?, context: APIContext) throws -> JSONValue {
        let body = try Self.jsonObject(context.request)
        let user = context.user
        let stored: OwnedDocument = try store.with { database in
            try database.withTransaction {
                guard let current = try OwnedDocument.read(database, table: "DeploymentProcess", id: id, space: space)
                else { throw APIError.notFound(id) }
                try Self.checkIdentity(body, id: current.id, space: current.spaceId, spaces: version.hasSpaces)
                if let project = body["ProjectId"], !project.isNull,
                    project.stringValue?.lowercased() != current.ownerId?.lowercased()
                {
                    throw APIError.validation([
                        "\(current.id) belongs to \(current.ownerId ?? "no project"); it cannot be moved to \(project)."
                    ])
                }
                guard !current.isFrozen else { throw APIError.validation([Self.frozenProcess]) }
                guard let given = body["Version"]?.integerValue else {
                    throw APIError.validation([
                        "Please provide the Version of the deployment process you loaded (\(current.id) is at "
                            + "Version \(current.version))."
                    ])
                }
                guard given == current.version else { throw APIError.validation([Self.staleProcess]) }
                guard let steps = body["Steps"]?.arrayValue else {
                    throw APIError.validation(["Please provide the Steps of the process (an empty list for none)."])
                }
                var checked: [JSONValue] = []
                var problems: [String] = []
                for (index, step) in steps.enumerated() {
                    guard var object = step.objectValue,
                        let name = object["Name"]?.stringValue,
                        !name.trimmingCharacters(in: .whitespaces).isEmpty
                    else {
                        problems.append("Step \(index + 1) needs a Name.")
                        continue
                    }
                    if object["Id"]?.stringValue?.isEmpty ?? true { object["Id"] = .string(Self.newId()) }
                    if let actions = object["Actions"]?.arrayValue {
                        object["Actions"] = .array(
                            actions.map { action in
                                guard var actionObject = action.objectValue else { return action }
                                if actionObject["Id"]?.stringValue?.isEmpty ?? true {
                                    actionObject["Id"] = .string(Self.newId())
                                }
                                return .object(actionObject)
                            }
                        )
                    }
                    checked.append(.object(object))
                }
                guard problems.isEmpty else { throw APIError.validation(problems) }
                var document = body
                document["Links"] = nil
                document["Id"] = .string(current.id)
                document["ProjectId"] = current.ownerId.map { .string($0) } ?? .null
                if version.hasSpaces, let rowSpace = current.spaceId { document["SpaceId"] = .string(rowSpace) }
                document["Version"] = .integer(current.version + 1)
                document["Steps"] = .array(checked)
                document["LastSnapshotId"] = current.document["LastSnapshotId"] ?? .null
                document["LastModifiedOn"] = .string(OctopusTime.timestamp())
                document["LastModifiedBy"] = .string(user.name)
                try database.run(
                    "UPDATE DeploymentProcess SET [JSON] = ? WHERE Id = ?",
                    [.text(JSONValue.object(document).serialized()), .text(current.id)]
                )
                try StandInEvents.record(
                    database,
                    category: "Modified",
                    spaceId: current.spaceId,
                    message: "Deployment process \(current.id) of \(current.ownerId ?? "no project") was modified "
                        + "(Version \(current.version + 1))",
                    related: [current.id] + (current.ownerId.map { [$0] } ?? []),
                    actor: user.actor
                )
                return current
            }
        }
        log.info("\(user.name) modified \(stored.id) through PUT \(context.request.path).")
        guard let updated = try store.row("DeploymentProcess", id: stored.id, space: nil) else {
            throw APIError.notFound(stored.id)
        }
        return processResource(updated)
    }

    // MARK: Variable sets

    /// `GET /variables/all`, `GET|PUT /variables/{id}`.
    func variableSets(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let space = scopedSpace(context)
        switch context.rest.count {
        case 2 where context.rest[1].lowercased() == "all":
            try Self.allow(request, ["GET", "HEAD"])
            var query = APIListQuery(space: space)
            query.ids = Self.list(request, "ids")
            if store.hasColumn("VariableSet", "IsFrozen") { query.conditions.append(("IsFrozen = 0", [])) }
            return .json(200, .array(try store.list("VariableSet", query).rows.map { try variableSetResource($0) }))
        case 2:
            try Self.allow(request, ["GET", "HEAD", "PUT"])
            if request.method == "PUT" {
                return .json(200, try replaceVariableSet(context.rest[1], space: space, context: context))
            }
            guard let row = try store.row("VariableSet", id: context.rest[1], space: space) else {
                throw APIError.notFound(context.rest[1])
            }
            return .json(200, try variableSetResource(row))
        default:
            throw unknownPath(request)
        }
    }

    /// Whether a variable is sensitive (`IsSensitive`, or `Type` `Sensitive`).
    static func isSensitive(_ variable: JSONValue.Object) -> Bool {
        variable["IsSensitive"]?.boolValue == true || variable["Type"]?.stringValue == "Sensitive"
    }

    /// A variable set as Octopus shows it: `OwnerId`, `Version`, `Variables` (sensitive values are never
    /// sent: `Value` is null), `ScopeValues` (what the variables may be scoped to), `Links`.
    func variableSetResource(_ row: APIRow) throws -> JSONValue {
        var object = builder.resource(.variables, row).objectValue ?? JSONValue.Object()
        object["Version"] = .integer(object["Version"]?.integerValue ?? 0)
        let variables = (object["Variables"]?.arrayValue ?? []).map { variable -> JSONValue in
            guard var variableObject = variable.objectValue, Self.isSensitive(variableObject) else { return variable }
            variableObject["Value"] = .null
            return .object(variableObject)
        }
        object["Variables"] = .array(variables)
        object["ScopeValues"] = try scopeValues(
            owner: row.columns["OwnerId"]?.text,
            space: row.columns["SpaceId"]?.text
        )
        return .object(object)
    }

    /// What a project's variables may be scoped to: the space's environments, targets and their roles, the
    /// project's channels and the actions of its process (tenant tags: none; the stand-in has no tenants).
    private func scopeValues(owner: String?, space: String?) throws -> JSONValue {
        func references(_ sql: String, _ parameters: [SQLValue]) throws -> [JSONValue] {
            try store.with { database in
                try database.query(sql, parameters).rows.map { row in
                    .object([("Id", .string(row[0].description)), ("Name", .string(row[1].description))])
                }
            }
        }
        let inSpace = space == nil ? "SpaceId IS NULL" : "SpaceId = ?"
        let spaceParameters: [SQLValue] = space.map { [.text($0)] } ?? []
        var values = JSONValue.Object()
        values["Environments"] = .array(
            store.hasTable("Environment")
                ? try references("SELECT Id, Name FROM Environment WHERE \(inSpace) ORDER BY Name", spaceParameters)
                : []
        )
        values["Machines"] = .array(
            store.hasTable("Machine")
                ? try references("SELECT Id, Name FROM Machine WHERE \(inSpace) ORDER BY Name", spaceParameters) : []
        )
        values["Roles"] = .array(
            store.hasTable("Machine")
                ? try references(
                    "SELECT DISTINCT r.value, r.value FROM Machine, json_each(CASE WHEN json_valid(Machine.[JSON]) "
                        + "THEN Machine.[JSON] ELSE '{}' END, '$.Roles') r WHERE Machine.\(inSpace) ORDER BY r.value",
                    spaceParameters
                ) : []
        )
        var channels: [JSONValue] = []
        var actions: [JSONValue] = []
        if let owner {
            if store.hasTable("Channel") {
                channels = try references(
                    "SELECT Id, Name FROM Channel WHERE ProjectId = ? ORDER BY Name",
                    [.text(owner)]
                )
            }
            if store.hasTable("DeploymentProcess") {
                let frozen = store.hasColumn("DeploymentProcess", "IsFrozen") ? " AND p.IsFrozen = 0" : ""
                actions = try references(
                    "SELECT json_extract(a.value, '$.Id'), json_extract(a.value, '$.Name') FROM DeploymentProcess p, "
                        + "json_each(CASE WHEN json_valid(p.[JSON]) THEN p.[JSON] ELSE '{}' END, '$.Steps') s, "
                        + "json_each(s.value, '$.Actions') a WHERE p.OwnerId = ?\(frozen)",
                    [.text(owner)]
                )
            }
        }
        values["Channels"] = .array(channels)
        values["Actions"] = .array(actions)
        values["TenantTags"] = .array([])
        return .object(values)
    }

    /// `PUT /variables/{id}`: the whole set with the `Version` it was loaded at (stale or frozen sets are
    /// refused as Octopus refuses them). A sensitive variable sent with a null `Value` keeps its stored value
    /// (matched by `Id`, else by `Name`); a new sensitive value is encrypted with the Master Key. Variables
    /// without an `Id` get one; `Version` goes up by one; records a `Modified` event.
    private func replaceVariableSet(_ id: String, space: String?, context: APIContext) throws -> JSONValue {
        let body = try Self.jsonObject(context.request)
        let user = context.user
        let masterKey = runtime.masterKey
        let stored: OwnedDocument = try store.with { database in
            try database.withTransaction {
                guard let current = try OwnedDocument.read(database, table: "VariableSet", id: id, space: space) else {
                    throw APIError.notFound(id)
                }
                try Self.checkIdentity(body, id: current.id, space: current.spaceId, spaces: version.hasSpaces)
                if let owner = body["OwnerId"], !owner.isNull,
                    owner.stringValue?.lowercased() != current.ownerId?.lowercased()
                {
                    throw APIError.validation(["Variable set only scoped to owner."])
                }
                guard !current.isFrozen else { throw APIError.validation([Self.frozenVariables]) }
                guard let given = body["Version"]?.integerValue else {
                    throw APIError.validation([
                        "Please provide the Version of the variable set you loaded (\(current.id) is at Version "
                            + "\(current.version))."
                    ])
                }
                guard given == current.version else { throw APIError.validation([Self.staleVariables]) }
                guard let variables = body["Variables"]?.arrayValue else {
                    throw APIError.validation(["Please provide the Variables of the set (an empty list for none)."])
                }
                let previous = (current.document["Variables"]?.arrayValue ?? []).compactMap(\.objectValue)
                var seen: Set<String> = []
                var checked: [JSONValue] = []
                for (index, variable) in variables.enumerated() {
                    guard var object = variable.objectValue, let name = object["Name"]?.stringValue,
                        !name.trimmingCharacters(in: .whitespaces).isEmpty
                    else {
                        throw APIError.validation(["Variable validation failed: variable \(index + 1) needs a Name."])
                    }
                    let variableId = object["Id"]?.stringValue ?? ""
                    if !variableId.isEmpty {
                        guard seen.insert(variableId.lowercased()).inserted else {
                            throw APIError.validation(["Variable ids must be unique."])
                        }
                    }
                    if Self.isSensitive(object) {
                        switch object["Value"] {
                        case .some(.string(let value)):
                            guard let masterKey else {
                                throw APIError(
                                    status: 500,
                                    message: "This Octopus Server has no Master Key to encrypt the sensitive variable "
                                        + "\(name) with; configure the instance's Master Key and restart it."
                                )
                            }
                            object["Value"] = .string(masterKey.encrypt(value))
                        default:
                            let match =
                                previous.first { !variableId.isEmpty && $0["Id"]?.stringValue == variableId }
                                ?? (variableId.isEmpty
                                    ? previous.filter { $0["Name"]?.stringValue == name }.onlyElement : nil)
                            object["Value"] = match?["Value"] ?? .null
                        }
                    }
                    if variableId.isEmpty { object["Id"] = .string(Self.newId()) }
                    checked.append(.object(object))
                }
                var document = body
                document["Links"] = nil
                document["ScopeValues"] = nil
                document["Id"] = .string(current.id)
                document["OwnerId"] = current.ownerId.map { .string($0) } ?? .null
                if version.hasSpaces, let rowSpace = current.spaceId { document["SpaceId"] = .string(rowSpace) }
                document["Version"] = .integer(current.version + 1)
                document["Variables"] = .array(checked)
                document["LastModifiedOn"] = .string(OctopusTime.timestamp())
                document["LastModifiedBy"] = .string(user.name)
                try database.run(
                    "UPDATE VariableSet SET [JSON] = ? WHERE Id = ?",
                    [.text(JSONValue.object(document).serialized()), .text(current.id)]
                )
                try StandInEvents.record(
                    database,
                    category: "Modified",
                    spaceId: current.spaceId,
                    message: "Variable set \(current.id) of \(current.ownerId ?? "no owner") was modified "
                        + "(Version \(current.version + 1))",
                    related: [current.id] + (current.ownerId.map { [$0] } ?? []),
                    actor: user.actor
                )
                return current
            }
        }
        log.info("\(user.name) modified \(stored.id) through PUT \(context.request.path).")
        guard let updated = try store.row("VariableSet", id: stored.id, space: nil) else {
            throw APIError.notFound(stored.id)
        }
        return try variableSetResource(updated)
    }

    // MARK: Helpers

    /// Refuses a body whose `Id` or `SpaceId` names another resource than the path.
    static func checkIdentity(_ body: JSONValue.Object, id: String, space: String?, spaces: Bool) throws {
        if let bodyId = body["Id"], !bodyId.isNull, bodyId.stringValue?.lowercased() != id.lowercased() {
            throw APIError.badRequest("The Id in the body (\(bodyId)) does not match the resource \(id) in the path.")
        }
        if spaces, let bodySpace = body["SpaceId"], !bodySpace.isNull,
            bodySpace.stringValue?.lowercased() != space?.lowercased()
        {
            throw APIError.badRequest(
                "\(id) is in \(space ?? "no space"); the stand-in cannot move it to \(bodySpace)."
            )
        }
    }

    /// A new Id for a step, action or variable (Octopus uses GUIDs).
    static func newId() -> String {
        UUID().uuidString.lowercased()
    }
}

extension Array {
    /// The only element, or `nil` when there are none or several.
    fileprivate var onlyElement: Element? { count == 1 ? first : nil }
}
