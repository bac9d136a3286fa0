import Foundation
import Wire

/// An error the REST API answers with, as Octopus writes it: `{"ErrorMessage": "…", "Errors": […]}`.
struct APIError: Error, Sendable {
    var status: Int
    var message: String
    var errors: [String] = []
    var headers: [(name: String, value: String)] = []

    var response: HTTPResponse {
        .json(
            status,
            .object([("ErrorMessage", .string(message)), ("Errors", .array(errors.map { .string($0) }))]),
            headers: headers
        )
    }

    static func notFound(_ what: String) -> APIError {
        APIError(status: 404, message: "The resource '\(what)' was not found.")
    }

    static func badRequest(_ message: String, _ errors: [String] = []) -> APIError {
        APIError(status: 400, message: message, errors: errors.isEmpty ? [message] : errors)
    }

    /// Octopus's answer to a request that fails validation: `400 {"ErrorMessage": "There was a problem with your
    /// request.", "Errors": […]}` (what the Octopus CLI prints as the message and a ` - ` line per error).
    static func validation(_ errors: [String]) -> APIError {
        APIError(status: 400, message: "There was a problem with your request.", errors: errors)
    }

    static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(
            status: 405,
            message: "The method \(method) is not allowed here; allowed: \(allowed.joined(separator: ", ")).",
            headers: [("Allow", allowed.joined(separator: ", "))]
        )
    }
}

/// How a real column is mirrored into the resource JSON.
enum MirroredColumnType: Sendable {
    case text
    case bool
    case integer
}

/// A collection the API serves from one table: its URL segment, table, `ItemType` and Id prefix.
struct APIResourceKind: Sendable {
    /// The URL segment, lower-case (`machines`).
    var collection: String
    /// The table (`Machine`).
    var table: String
    /// The paged collection's `ItemType` (`DeploymentTarget`).
    var itemType: String
    /// Whether rows belong to a space (`SpaceId`).
    var spaceScoped: Bool
    /// Whether `PUT /…/{id}` replaces a resource.
    var writable: Bool
    /// The query part of the paged list's `Links.Template` when it is not the stand-in's usual
    /// `{?skip,take,ids,partialName,name[,isDisabled]}` (as Octopus's root document lists it).
    var queryTemplate: String? = nil

    static let machines = APIResourceKind(
        collection: "machines",
        table: "Machine",
        itemType: "DeploymentTarget",
        spaceScoped: true,
        writable: true
    )
    static let workers = APIResourceKind(
        collection: "workers",
        table: "Worker",
        itemType: "Worker",
        spaceScoped: true,
        writable: true
    )
    static let projectTriggers = APIResourceKind(
        collection: "projecttriggers",
        table: "ProjectTrigger",
        itemType: "ProjectTrigger",
        spaceScoped: true,
        writable: true
    )
    static let subscriptions = APIResourceKind(
        collection: "subscriptions",
        table: "Subscription",
        itemType: "Subscription",
        spaceScoped: true,
        writable: true
    )
    static let projects = APIResourceKind(
        collection: "projects",
        table: "Project",
        itemType: "Project",
        spaceScoped: true,
        writable: true
    )
    static let environments = APIResourceKind(
        collection: "environments",
        table: "Environment",
        itemType: "Environment",
        spaceScoped: true,
        writable: true
    )
    static let channels = APIResourceKind(
        collection: "channels",
        table: "Channel",
        itemType: "Channel",
        spaceScoped: true,
        writable: false,
        queryTemplate: "{?skip,take,ids,partialName}"
    )
    static let lifecycles = APIResourceKind(
        collection: "lifecycles",
        table: "Lifecycle",
        itemType: "Lifecycle",
        spaceScoped: true,
        writable: false,
        queryTemplate: "{?skip,take,ids,partialName}"
    )
    static let spaces = APIResourceKind(
        collection: "spaces",
        table: "Space",
        itemType: "Space",
        spaceScoped: false,
        writable: false
    )
    static let serverNodes = APIResourceKind(
        collection: "octopusservernodes",
        table: "OctopusServerNode",
        itemType: "OctopusServerNode",
        spaceScoped: false,
        writable: true
    )
    static let deploymentProcesses = APIResourceKind(
        collection: "deploymentprocesses",
        table: "DeploymentProcess",
        itemType: "DeploymentProcess",
        spaceScoped: true,
        writable: true
    )
    static let variables = APIResourceKind(
        collection: "variables",
        table: "VariableSet",
        itemType: "VariableSet",
        spaceScoped: true,
        writable: true
    )
    static let releases = APIResourceKind(
        collection: "releases",
        table: "Release",
        itemType: "Release",
        spaceScoped: true,
        writable: false
    )
    static let artifacts = APIResourceKind(
        collection: "artifacts",
        table: "Artifact",
        itemType: "Artifact",
        spaceScoped: true,
        writable: false
    )

    /// The space-scoped collections served with GET (and PUT where ``writable``).
    static let spaceCollections: [APIResourceKind] = [
        machines, workers, projectTriggers, subscriptions, projects, environments, channels, lifecycles,
    ]

    /// Real columns mirrored into the JSON of every resource that has them; the column wins over the
    /// stored document, so `UPDATE Machine SET IsDisabled = 1` shows in every response.
    static let mirroredColumns: [(name: String, type: MirroredColumnType)] = [
        ("Name", .text), ("SpaceId", .text), ("IsDisabled", .bool), ("IsDefault", .bool), ("ProjectId", .text),
        ("IsInMaintenanceMode", .bool), ("MaxConcurrentTasks", .integer), ("ServerTaskId", .text), ("Filename", .text),
        ("State", .text), ("QueueTime", .text), ("OwnerId", .text), ("Version", .text),
    ]
}

/// The filters of a list request.
struct APIListQuery {
    /// Only rows of this space (`nil`: every row).
    var space: String?
    var isDisabled: Bool?
    var ids: [String] = []
    var partialName: String?
    var name: String?
    /// Further conditions, SQL with `?` parameters.
    var conditions: [(sql: String, parameters: [SQLValue])] = []
    var skip = 0
    /// `nil`: every row.
    var take: Int?
}

/// One row read from a resource table: its Id, stored document and mirrored columns.
struct APIRow {
    var id: String
    var document: JSONValue.Object
    var columns: [String: SQLValue]
}

extension StandInStore {
    /// The mirrored columns a table has.
    func mirrored(_ table: String) -> [(name: String, type: MirroredColumnType)] {
        APIResourceKind.mirroredColumns.filter { hasColumn(table, $0.name) }
    }

    private func whereClause(_ table: String, _ query: APIListQuery) -> (sql: String, parameters: [SQLValue]) {
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        if let space = query.space, hasColumn(table, "SpaceId") {
            conditions.append("SpaceId = ?")
            parameters.append(.text(space))
        }
        if let isDisabled = query.isDisabled, hasColumn(table, "IsDisabled") {
            conditions.append("IsDisabled = ?")
            parameters.append(.integer(isDisabled ? 1 : 0))
        }
        if !query.ids.isEmpty {
            conditions.append("Id IN (\(query.ids.map { _ in "?" }.joined(separator: ", ")))")
            parameters += query.ids.map { .text($0) }
        }
        if let partialName = query.partialName, hasColumn(table, "Name") {
            conditions.append("instr(lower(Name), lower(?)) > 0")
            parameters.append(.text(partialName))
        }
        if let name = query.name, hasColumn(table, "Name") {
            conditions.append("Name = ?")
            parameters.append(.text(name))
        }
        for condition in query.conditions {
            conditions.append("(\(condition.sql))")
            parameters += condition.parameters
        }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), parameters)
    }

    /// Counts and reads one page of rows.
    func list(_ table: String, _ query: APIListQuery, orderBy: String? = nil) throws -> (total: Int, rows: [APIRow]) {
        let mirrored = mirrored(table)
        let filter = whereClause(table, query)
        let order = orderBy ?? (hasColumn(table, "Name") ? "Name COLLATE NOCASE, length(Id), Id" : "length(Id), Id")
        let selected = (["Id", "JSON"] + mirrored.map(\.name)).map { "[\($0)]" }.joined(separator: ", ")
        var sql = "SELECT \(selected) FROM [\(table)]\(filter.sql) ORDER BY \(order)"
        var parameters = filter.parameters
        if let take = query.take {
            sql += " LIMIT ? OFFSET ?"
            parameters += [.integer(Int64(take)), .integer(Int64(query.skip))]
        } else if query.skip > 0 {
            sql += " LIMIT -1 OFFSET ?"
            parameters.append(.integer(Int64(query.skip)))
        }
        return try with { database in
            let total =
                try database.query("SELECT COUNT(*) FROM [\(table)]\(filter.sql)", filter.parameters)
                .rows.first?.first?.integer ?? 0
            let rows = try database.query(sql, parameters).rows.map { values in
                var columns: [String: SQLValue] = [:]
                for (offset, column) in mirrored.enumerated() { columns[column.name] = values[offset + 2] }
                let document =
                    values[1].text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
                return APIRow(id: values[0].text ?? values[0].description, document: document, columns: columns)
            }
            return (Int(total), rows)
        }
    }

    /// One row by Id (case-insensitive), within a space when given.
    func row(_ table: String, id: String, space: String?) throws -> APIRow? {
        try list(table, APIListQuery(space: space, ids: [id], take: 1)).rows.first
    }
}

/// Builds resource JSON from rows: the stored document, then the mirrored columns, then `Links`.
struct APIResourceBuilder {
    /// Whether this version has spaces (2019.1): without them, `SpaceId` is left out and links are unscoped.
    var spaces: Bool

    /// The link to a collection, e.g. `/api/Spaces-1/machines` or `/api/machines`.
    func collectionLink(_ kind: APIResourceKind, space: String?) -> String {
        if kind.spaceScoped, spaces, let space { return "/api/\(space)/\(kind.collection)" }
        return "/api/\(kind.collection)"
    }

    /// The resource document for a row.
    func resource(_ kind: APIResourceKind, _ row: APIRow, extraLinks: [(String, String)] = []) -> JSONValue {
        var object = JSONValue.Object([("Id", .string(row.id))])
        for (key, value) in row.document where key != "Id" && key != "Links" {
            object[key] = value
        }
        for column in APIResourceKind.mirroredColumns {
            if let value = row.columns[column.name] { object[column.name] = Self.json(value, column.type) }
        }
        if !spaces { object["SpaceId"] = nil }
        let space = row.columns["SpaceId"]?.text
        let selfLink = "\(collectionLink(kind, space: space))/\(row.id)"
        object["Links"] = .object([("Self", .string(selfLink))] + extraLinks.map { ($0.0, .string($0.1)) })
        return .object(object)
    }

    /// A column value as JSON of its type.
    static func json(_ value: SQLValue, _ type: MirroredColumnType) -> JSONValue {
        switch (value, type) {
        case (.null, _): .null
        case (.integer(let number), .bool): .bool(number != 0)
        case (.integer(let number), _): .integer(number)
        case (.real(let number), _): .double(number)
        case (.text(let text), .bool): .bool(text == "1" || text.lowercased() == "true")
        case (.text(let text), _): .string(text)
        }
    }
}
