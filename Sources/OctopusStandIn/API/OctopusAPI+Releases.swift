import Foundation
import Wire

extension OctopusAPI {
    /// Releases newest first, as Octopus lists them: by `Assembled`, then by Id number.
    private static let releaseOrder =
        "CASE WHEN json_valid([JSON]) THEN COALESCE(json_extract([JSON], '$.Assembled'), '') ELSE '' END DESC, "
        + "length(Id) DESC, Id DESC"

    /// `GET /releases` (paged, newest first), `POST /releases`, `GET /releases/{id}`.
    func releases(_ context: APIContext) throws -> HTTPResponse {
        let request = context.request
        let space = scopedSpace(context)
        switch context.rest.count {
        case 1:
            try Self.allow(request, ["GET", "HEAD", "POST"])
            if request.method == "POST" { return try createRelease(context) }
            var query = APIListQuery(space: space)
            query.ids = Self.list(request, "ids")
            return try releasePage(query, link: builder.collectionLink(.releases, space: space), request: request)
        case 2:
            try Self.allow(request, ["GET", "HEAD"])
            guard let row = try store.row("Release", id: context.rest[1], space: space) else {
                throw APIError.notFound(context.rest[1])
            }
            return .json(200, releaseResource(row))
        default:
            throw unknownPath(request)
        }
    }

    /// `GET /projects/{id}/releases` (paged, newest first; `searchByVersion` narrows to versions containing it).
    func projectReleases(_ context: APIContext, project: APIRow) throws -> HTTPResponse {
        try Self.allow(context.request, ["GET", "HEAD"])
        var query = APIListQuery(space: scopedSpace(context))
        query.conditions.append(("ProjectId = ?", [.text(project.id)]))
        if let search = context.request.queryValue("searchByVersion"), !search.isEmpty {
            query.conditions.append(("instr(lower(Version), lower(?)) > 0", [.text(search)]))
        }
        let link = "\(builder.collectionLink(.projects, space: scopedSpace(context)))/\(project.id)/releases"
        return try releasePage(query, link: link, request: context.request)
    }

    /// A paged list of releases, newest first.
    func releasePage(_ base: APIListQuery, link: String, request: HTTPRequest) throws -> HTTPResponse {
        var query = base
        query.skip = try Self.integer(request, "skip", default: 0) ?? 0
        let take = try Self.integer(request, "take", default: 30) ?? 30
        query.take = take
        let result = try store.list("Release", query, orderBy: Self.releaseOrder)
        return .json(
            200,
            page(
                itemType: APIResourceKind.releases.itemType,
                link: link,
                template: "\(link){/id}{?skip,take,searchByVersion}",
                request: request,
                total: result.total,
                items: result.rows.map { releaseResource($0) },
                skip: query.skip,
                take: take
            )
        )
    }

    /// A release as Octopus shows it, with the members a release always has (null or empty when the stored
    /// document lacks them) and `Links` to its project and snapshots.
    func releaseResource(_ row: APIRow) -> JSONValue {
        var object = builder.resource(.releases, row).objectValue ?? JSONValue.Object()
        let defaults: [(String, JSONValue)] = [
            ("ChannelId", .null), ("Assembled", .null), ("ReleaseNotes", .null), ("IgnoreChannelRules", .bool(false)),
            ("ProjectDeploymentProcessSnapshotId", .null), ("ProjectVariableSetSnapshotId", .null),
            ("LibraryVariableSetSnapshotIds", .array([])), ("SelectedPackages", .array([])),
            ("BuildInformation", .array([])),
        ]
        for (key, value) in defaults where object[key] == nil { object[key] = value }
        let space = row.columns["SpaceId"]?.text
        var links = object["Links"]?.objectValue ?? JSONValue.Object()
        if let project = object["ProjectId"]?.stringValue {
            links["Project"] = .string("\(builder.collectionLink(.projects, space: space))/\(project)")
        }
        if let snapshot = object["ProjectDeploymentProcessSnapshotId"]?.stringValue {
            links["ProjectDeploymentProcessSnapshot"] = .string(
                "\(builder.collectionLink(.deploymentProcesses, space: space))/\(snapshot)"
            )
        }
        if let snapshot = object["ProjectVariableSetSnapshotId"]?.stringValue {
            links["ProjectVariableSetSnapshot"] = .string(
                "\(builder.collectionLink(.variables, space: space))/\(snapshot)"
            )
        }
        object["Links"] = .object(links)
        return .object(object)
    }

    /// `POST /releases`: creates a release of a project (`ProjectId`, `Version` required; `ChannelId`
    /// defaults to the project's default channel). The release snapshots the project's deployment process
    /// and variable set as they are now (frozen copies, `deploymentprocess-<project>-s-<Version>-<5 letters>`
    /// as Octopus names them), and the process's `LastSnapshotId` names the new snapshot. A version the
    /// project already has is refused as Octopus refuses it. Answers 201 with the release; records a
    /// `ReleaseCreated` event.
    private func createRelease(_ context: APIContext) throws -> HTTPResponse {
        let body = try Self.jsonObject(context.request)
        let space = scopedSpace(context)
        let user = context.user
        guard let projectId = body["ProjectId"]?.stringValue, !projectId.isEmpty else {
            throw APIError.validation(["Please provide the ProjectId of the project to create the release for."])
        }
        guard let releaseVersion = body["Version"]?.stringValue?.trimmingCharacters(in: .whitespaces),
            !releaseVersion.isEmpty
        else {
            throw APIError.validation(["Please provide a Version for the release."])
        }
        guard releaseVersion.count <= 349 else {
            throw APIError.validation(["The Version must be at most 349 characters long."])
        }
        if version.hasSpaces, let bodySpace = body["SpaceId"], !bodySpace.isNull,
            bodySpace.stringValue?.lowercased() != space?.lowercased()
        {
            throw APIError.validation(["The release's SpaceId (\(bodySpace)) is not the space of the path."])
        }
        guard let project = try store.row("Project", id: projectId, space: space) else {
            throw APIError.validation(["There is no project \(projectId) in \(space ?? "this instance")."])
        }
        let processId = try liveProcessId(of: project)
        let variableSetId =
            project.document["VariableSetId"]?.stringValue ?? ProjectDocuments.variableSetId(project: project.id)
        let releaseId: String = try store.with { database in
            try database.withTransaction {
                let duplicate = try database.query(
                    "SELECT 1 FROM Release WHERE ProjectId = ? AND lower(Version) = lower(?) LIMIT 1",
                    [.text(project.id), .text(releaseVersion)]
                )
                guard duplicate.rows.isEmpty else {
                    throw APIError.validation([
                        "Release '\(releaseVersion)' already exists for this project. Please use a different version, "
                            + "or look at using a mask to auto-increment the number."
                    ])
                }
                let channelId = try Self.channel(database, body: body, project: project.id)
                try ProjectDocuments.ensure(in: database, projects: [project.id])
                let processSnapshot = try Self.snapshot(
                    database,
                    table: "DeploymentProcess",
                    id: processId,
                    owner: project.id
                )
                let variableSnapshot = try Self.snapshot(
                    database,
                    table: "VariableSet",
                    id: variableSetId,
                    owner: project.id
                )
                try database.run(
                    "UPDATE DeploymentProcess SET [JSON] = json_set([JSON], '$.LastSnapshotId', ?) WHERE Id = ?",
                    [processSnapshot.map { .text($0) } ?? .null, .text(processId)]
                )
                let id = try StandInStore.nextId(database, table: "Release", prefix: "Releases")
                let now = OctopusTime.timestamp()
                var document = JSONValue.Object([("Id", .string(id))])
                if version.hasSpaces, let rowSpace = project.columns["SpaceId"]?.text {
                    document["SpaceId"] = .string(rowSpace)
                }
                document["ProjectId"] = .string(project.id)
                document["Version"] = .string(releaseVersion)
                document["ChannelId"] = channelId.map { .string($0) } ?? .null
                document["ReleaseNotes"] = body["ReleaseNotes"]?.stringValue.map { .string($0) } ?? .null
                document["Assembled"] = .string(now)
                document["IgnoreChannelRules"] = .bool(body["IgnoreChannelRules"]?.boolValue ?? false)
                document["ProjectDeploymentProcessSnapshotId"] = processSnapshot.map { .string($0) } ?? .null
                document["ProjectVariableSetSnapshotId"] = variableSnapshot.map { .string($0) } ?? .null
                document["LibraryVariableSetSnapshotIds"] = .array([])
                document["SelectedPackages"] = .array(body["SelectedPackages"]?.arrayValue ?? [])
                document["SelectedGitResources"] = .array([])
                document["BuildInformation"] = .array([])
                document["CustomFields"] = body["CustomFields"]?.objectValue.map { .object($0) } ?? .object([])
                document["VersionControlReference"] = .null
                document["LastModifiedOn"] = .string(now)
                document["LastModifiedBy"] = .string(user.name)
                try database.run(
                    "INSERT INTO Release (Id, SpaceId, ProjectId, Version, [JSON]) VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(id), project.columns["SpaceId"] ?? .null, .text(project.id), .text(releaseVersion),
                        .text(JSONValue.object(document).serialized()),
                    ]
                )
                try StandInEvents.record(
                    database,
                    category: "ReleaseCreated",
                    spaceId: project.columns["SpaceId"]?.text,
                    message: "Release \(releaseVersion) created for \(project.columns["Name"]?.text ?? project.id)",
                    related: [id, project.id] + (channelId.map { [$0] } ?? []),
                    actor: user.actor
                )
                return id
            }
        }
        log.info("\(user.name) created release \(releaseId) (\(releaseVersion)) of \(project.id).")
        guard let row = try store.row("Release", id: releaseId, space: nil) else { throw APIError.notFound(releaseId) }
        return .json(201, releaseResource(row))
    }

    /// The channel of a new release: the one the body names (it must be the project's), else the project's
    /// default channel (`IsDefault`), else its first; `nil` when the project has none.
    private static func channel(
        _ database: SQLiteDatabase,
        body: JSONValue.Object,
        project: String
    ) throws -> String? {
        guard try database.tableExists("Channel") else { return nil }
        if let given = body["ChannelId"]?.stringValue, !given.isEmpty {
            guard
                let found = try database.query(
                    "SELECT Id FROM Channel WHERE Id = ? AND ProjectId = ?",
                    [.text(given), .text(project)]
                ).rows.first?.first?.text
            else {
                throw APIError.validation(["The channel \(given) is not a channel of \(project)."])
            }
            return found
        }
        return try database.query(
            "SELECT Id FROM Channel WHERE ProjectId = ? ORDER BY CASE WHEN json_valid([JSON]) AND "
                + "json_extract([JSON], '$.IsDefault') THEN 0 ELSE 1 END, length(Id), Id LIMIT 1",
            [.text(project)]
        ).rows.first?.first?.text
    }

    /// Copies a live process or variable set to a frozen snapshot, `<id>-s-<Version>-<5 letters>`.
    /// - Returns: The snapshot's Id, or `nil` when there is nothing to snapshot.
    private static func snapshot(
        _ database: SQLiteDatabase,
        table: String,
        id: String,
        owner: String
    ) throws -> String? {
        guard let current = try OwnedDocument.read(database, table: table, id: id, space: nil) else { return nil }
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
        let suffix = String((0..<5).map { _ in alphabet.randomElement() ?? "A" })
        let snapshotId = "\(current.id)-s-\(current.version)-\(suffix)"
        var document = current.document
        document["Id"] = .string(snapshotId)
        try database.run(
            "INSERT INTO [\(table)] (Id, SpaceId, OwnerId, IsFrozen, [JSON]) VALUES (?, ?, ?, 1, ?)",
            [
                .text(snapshotId), current.spaceId.map { .text($0) } ?? .null, .text(current.ownerId ?? owner),
                .text(JSONValue.object(document).serialized()),
            ]
        )
        return snapshotId
    }
}
