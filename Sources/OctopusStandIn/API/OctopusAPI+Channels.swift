import Crypto
import Foundation
import Wire

extension OctopusAPI {
    /// Octopus's `RetentionPeriod.KeepForever()`, what a lifecycle without its own policy keeps.
    static let keepForever = JSONValue.object([
        ("Unit", .string("Days")), ("QuantityToKeep", .integer(0)), ("ShouldKeepForever", .bool(true)),
    ])

    /// `GET /projects/{id}/channels` (paged, `partialName`) and `GET /projects/{id}/channels/{channelId}` (a
    /// channel of that project only).
    func projectChannels(_ context: APIContext, project: APIRow) throws -> HTTPResponse {
        let request = context.request
        try Self.allow(request, ["GET", "HEAD"])
        let space = scopedSpace(context)
        var query = APIListQuery(space: space)
        query.conditions.append(("ProjectId = ?", [.text(project.id)]))
        if context.rest.count == 4 {
            query.ids = [context.rest[3]]
            guard let row = try store.list("Channel", query).rows.first else {
                throw APIError.notFound(context.rest[3])
            }
            return .json(200, channelResource(row))
        }
        query.partialName = request.queryValue("partialName").flatMap { $0.isEmpty ? nil : $0 }
        query.skip = try Self.integer(request, "skip", default: 0) ?? 0
        let take = try Self.integer(request, "take", default: 30) ?? 30
        query.take = take
        let result = try store.list("Channel", query)
        let link = "\(builder.collectionLink(.projects, space: space))/\(project.id)/channels"
        return .json(
            200,
            page(
                itemType: APIResourceKind.channels.itemType,
                link: link,
                template: "\(link){/id}{?skip,take,partialName}",
                request: request,
                total: result.total,
                items: result.rows.map { channelResource($0) },
                skip: query.skip,
                take: take
            )
        )
    }

    /// `GET /channels/{id}/releases`: the channel's releases, paged, newest first (`searchByVersion`).
    func channelChild(_ context: APIContext) throws -> HTTPResponse {
        let space = scopedSpace(context)
        guard context.rest[2].lowercased() == "releases", store.hasTable("Release") else {
            throw unknownPath(context.request)
        }
        try Self.allow(context.request, ["GET", "HEAD"])
        guard let channel = try store.row("Channel", id: context.rest[1], space: space) else {
            throw APIError.notFound(context.rest[1])
        }
        var query = APIListQuery(space: space)
        query.conditions.append(
            (
                "lower(CASE WHEN json_valid([JSON]) THEN json_extract([JSON], '$.ChannelId') END) = lower(?)",
                [.text(channel.id)]
            )
        )
        if let search = context.request.queryValue("searchByVersion"), !search.isEmpty {
            query.conditions.append(("instr(lower(Version), lower(?)) > 0", [.text(search)]))
        }
        let link = "\(builder.collectionLink(.channels, space: space))/\(channel.id)/releases"
        return try releasePage(query, link: link, request: context.request)
    }

    /// A channel as Octopus shows it (`ChannelResource`): `ProjectId`, `LifecycleId` (null: the project's
    /// lifecycle), `IsDefault`, `Description`, `Rules`, `TenantTags`, and `Links` to itself, its releases and
    /// its project.
    func channelResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(.channels, row).objectValue ?? JSONValue.Object()
        let defaults: [(String, JSONValue)] = [
            ("Description", .null), ("ProjectId", .null), ("LifecycleId", .null), ("IsDefault", .bool(false)),
            ("Rules", .array([])), ("TenantTags", .array([])),
        ]
        for (key, value) in defaults where object[key] == nil { object[key] = value }
        if object["LifecycleId"]?.stringValue?.isEmpty == true { object["LifecycleId"] = .null }
        let space = row.columns["SpaceId"]?.text
        var links = object["Links"]?.objectValue ?? JSONValue.Object()
        let selfLink = "\(builder.collectionLink(.channels, space: space))/\(row.id)"
        links["Releases"] = .string("\(selfLink)/releases{?skip,take,searchByVersion}")
        if let project = object["ProjectId"]?.stringValue {
            links["Project"] = .string("\(builder.collectionLink(.projects, space: space))/\(project)")
        }
        object["Links"] = .object(links)
        return .object(object)
    }

    /// A lifecycle as Octopus shows it (`LifecycleResource`): `Name`, `Description`, `Phases` (each with `Id`,
    /// `Name`, `AutomaticDeploymentTargets`, `OptionalDeploymentTargets`, `MinimumEnvironmentsBeforePromotion`,
    /// `IsOptionalPhase` and its own retention policies, null when it has none), `ReleaseRetentionPolicy`,
    /// `TentacleRetentionPolicy`. A phase stored without an `Id` gets one derived from the lifecycle's Id and
    /// its position, the same on every request.
    func lifecycleResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(.lifecycles, row).objectValue ?? JSONValue.Object()
        let defaults: [(String, JSONValue)] = [
            ("Description", .string("")), ("ReleaseRetentionPolicy", Self.keepForever),
            ("TentacleRetentionPolicy", Self.keepForever),
        ]
        for (key, value) in defaults where object[key] == nil || object[key]?.isNull == true {
            object[key] = value
        }
        let phases = (object["Phases"]?.arrayValue ?? []).enumerated().map { index, stored -> JSONValue in
            var phase = stored.objectValue ?? JSONValue.Object()
            let phaseDefaults: [(String, JSONValue)] = [
                ("Id", .string(Self.phaseId(lifecycle: row.id, index: index))), ("Name", .null),
                ("AutomaticDeploymentTargets", .array([])), ("OptionalDeploymentTargets", .array([])),
                ("MinimumEnvironmentsBeforePromotion", .integer(0)), ("IsOptionalPhase", .bool(false)),
                ("ReleaseRetentionPolicy", .null), ("TentacleRetentionPolicy", .null),
            ]
            for (key, value) in phaseDefaults where phase[key] == nil { phase[key] = value }
            return .object(phase)
        }
        object["Phases"] = .array(phases)
        return .object(object)
    }

    /// A GUID for a phase stored without one: from SHA-256 of the lifecycle's Id and the phase's position.
    static func phaseId(lifecycle: String, index: Int) -> String {
        let digest = Array(SHA256.hash(data: Array("\(lifecycle.lowercased())/phase/\(index)".utf8)))
        let hex = digest.prefix(16).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The lifecycle a project uses: its stored `LifecycleId`, else (a project written without one) its space's
    /// "Default Lifecycle", else the space's first lifecycle; `nil` when the space has none.
    func projectLifecycleId(_ row: APIRow, document: JSONValue.Object) throws -> String? {
        if let stored = document["LifecycleId"]?.stringValue, !stored.isEmpty { return stored }
        guard store.hasTable("Lifecycle") else { return nil }
        var query = APIListQuery(space: version.hasSpaces ? row.columns["SpaceId"]?.text : nil)
        query.take = 1
        let order =
            "CASE WHEN Name = '\(ProjectExportOptions.defaultLifecycleName)' THEN 0 ELSE 1 END, length(Id), Id"
        return try store.list("Lifecycle", query, orderBy: order).rows.first?.id
    }
}
