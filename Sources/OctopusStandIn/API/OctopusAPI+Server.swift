import Wire

/// The server folders as the database holds them (`Configuration` row `server-folders`, written by the
/// `path` verb), each defaulting to a folder of the home folder like a fresh install's.
struct StandInServerFolders {
    /// The `/api/configuration/server-folders/values` document.
    var document: JSONValue.Object

    /// `ArtifactsDirectory`.
    var artifacts: String { document["ArtifactsDirectory"]?.stringValue ?? "" }
    /// `LogsDirectory` (the task logs).
    var taskLogs: String { document["LogsDirectory"]?.stringValue ?? "" }

    /// The property names, in the API's order, with the home sub-folder each defaults to and the version
    /// it appears in.
    static let folders: [(property: String, folder: String, since: StandInVersionNumber?)] = [
        ("ArtifactsDirectory", "Artifacts", nil),
        ("LogsDirectory", "TaskLogs", nil),
        ("PackagesDirectory", "Packages", nil),
        ("ImportsDirectory", "Imports", StandInVersionNumber(2021, 1)),
        ("EventExportsDirectory", "EventExports", StandInVersionNumber(2023, 3)),
        ("TelemetryDirectory", "Telemetry", nil),
    ]

    static func read(
        store: StandInStore,
        runtime: ServerRuntime,
        version: StandInVersionNumber
    ) throws
        -> StandInServerFolders
    {
        let stored = try store.configuration("server-folders") ?? JSONValue.Object()
        var document = JSONValue.Object()
        for folder in folders where folder.since.map({ version >= $0 }) ?? true {
            let value = stored[folder.property]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            document[folder.property] = .string(value ?? "\(runtime.homeDirectory)/\(folder.folder)")
        }
        document["Links"] = .object([("Self", .string("/api/configuration/server-folders/values"))])
        return StandInServerFolders(document: document)
    }
}

extension OctopusAPI {
    /// The server folders (see ``StandInServerFolders``).
    func serverFolders() throws -> StandInServerFolders {
        try StandInServerFolders.read(store: store, runtime: runtime, version: version)
    }

    /// The Installation ID (`Configuration` row `upgradeavailability`, `$.InstallationId`).
    func installationId() throws -> String? {
        try store.configuration("upgradeavailability")?["InstallationId"]?.stringValue
    }

    /// `GET /api`, served without an API key as Octopus does.
    func root() -> JSONValue {
        let space = version.hasSpaces ? ((try? store.defaultSpaceId()) ?? nil) : nil
        var links = JSONValue.Object([("Self", .string("/api"))])
        if version.hasSpaces {
            links["Spaces"] = .string("/api/spaces{/id}{?skip,ids,take,partialName}")
            links["SpaceHome"] = .string("/api/{spaceId}")
        }
        for (name, value) in collectionLinks(space: space) { links[name] = .string(value) }
        links["ServerStatus"] = .string("/api/serverstatus")
        links["ServerHealthStatus"] = .string("/api/serverstatus/health")
        links["OctopusServerNodes"] = .string("/api/octopusservernodes{/id}{?skip,take}")
        links["OctopusServerNodePing"] = .string("/api/octopusservernodes/ping")
        links["ServerConfiguration"] = .string("/api/serverconfiguration")
        links["MaintenanceConfiguration"] = .string("/api/maintenanceconfiguration")
        links["ServerConfigurationFolders"] = .string("/api/configuration/server-folders/values")
        links["Tasks"] = .string("/api/tasks{/id}{?skip,active,name,states,ids,take,spaces,includeSystem}")
        return .object([
            ("Application", .string("Octopus Deploy")),
            ("Version", .string(runtime.version)),
            ("ApiVersion", .string("3.0.0")),
            ("InstallationId", ((try? installationId()) ?? nil).map { .string($0) } ?? .null),
            ("Links", .object(links)),
        ])
    }

    /// The links to a space's collections (unscoped before 2019.1).
    func collectionLinks(space: String?) -> [(String, String)] {
        let base = version.hasSpaces && space != nil ? "/api/\(space ?? "")" : "/api"
        var links: [(String, String)] = [
            ("Machines", "\(base)/machines{/id}{?skip,take,name,ids,partialName,isDisabled,environmentIds,roles}"),
            ("Workers", "\(base)/workers{/id}{?skip,take,name,ids,partialName,isDisabled,workerPoolIds}"),
            ("ProjectTriggers", "\(base)/projecttriggers{/id}{?skip,take,ids}"),
            ("Subscriptions", "\(base)/subscriptions{/id}{?skip,take,ids,partialName}"),
            ("Projects", "\(base)/projects{/id}{?skip,take,name,ids,partialName}"),
            ("Environments", "\(base)/environments{/id}{?skip,take,name,ids,partialName}"),
            ("Channels", "\(base)/channels{/id}{?skip,take,ids,partialName}"),
            ("Lifecycles", "\(base)/lifecycles{/id}{?skip,take,ids,partialName}"),
            ("Artifacts", "\(base)/artifacts{/id}{?skip,take,regarding}"),
            ("DeploymentProcesses", "\(base)/deploymentprocesses{/id}{?skip,take,ids}"),
            ("Variables", "\(base)/variables{/id}{?ids}"),
            ("Releases", "\(base)/releases{/id}{?skip,take,ids}"),
        ]
        if version.hasSpaces, let space {
            links.append(("Tasks", "/api/\(space)/tasks{/id}{?skip,active,name,states,ids,take}"))
        }
        if version.hasImportExport {
            links += [
                ("ExportProjects", "\(base)/projects/import-export/export"),
                ("ImportProjects", "\(base)/projects/import-export/import"),
                ("ImportProjectsFiles", "\(base)/projects/import-export/import-files"),
            ]
        }
        return links
    }

    /// `GET /api/{spaceId}`: the space's links.
    func spaceRoot(_ space: String) -> JSONValue {
        var links = JSONValue.Object([("Self", .string("/api/\(space)"))])
        for (name, value) in collectionLinks(space: space) { links[name] = .string(value) }
        return .object([("Links", .object(links))])
    }

    /// This node's `OctopusServerNode` row, when it has registered.
    func thisNode() throws -> APIRow? {
        guard store.hasTable("OctopusServerNode") else { return nil }
        return try store.list("OctopusServerNode", APIListQuery(name: runtime.nodeName, take: 1)).rows.first
    }

    /// `GET /api/octopusservernodes/ping`, served without an API key: 200 while this node takes work,
    /// 418 while it is draining (`node --drain=true`, or `IsInMaintenanceMode` of its row).
    func ping() throws -> HTTPResponse {
        guard let node = try thisNode() else {
            return .json(200, .object([("Name", .string(runtime.nodeName)), ("IsInMaintenanceMode", .bool(false))]))
        }
        let draining = node.columns["IsInMaintenanceMode"]?.integer ?? 0 != 0
        return .json(draining ? 418 : 200, try resource(.serverNodes, node))
    }

    /// Whether maintenance mode is on (`Configuration` row `maintenance`).
    func isInMaintenanceMode() throws -> Bool {
        try store.configuration("maintenance")?["IsInMaintenanceMode"]?.boolValue ?? false
    }

    /// `GET /api/serverstatus` and `GET /api/serverstatus/health`.
    func serverStatus(_ context: APIContext) throws -> HTTPResponse {
        try Self.allow(context.request, ["GET", "HEAD"])
        let maintenance = try isInMaintenanceMode()
        switch context.rest.count {
        case 1:
            return .json(
                200,
                .object([
                    ("Id", .string("serverstatus")),
                    ("IsDatabaseEncrypted", .bool(true)),
                    ("IsMajorMinorUpgrade", .bool(false)),
                    ("IsInMaintenanceMode", .bool(maintenance)),
                    ("IsUpgradeAvailable", .bool(false)),
                    ("MaintenanceExpires", .string("9999-12-31T00:00:00.000+00:00")),
                    ("MaximumAvailableVersion", .string(runtime.version)),
                    ("MaximumAvailableVersionCoveredByLicense", .string(runtime.version)),
                    ("IsPotentialClone", .bool(try otherNodes() > 0)),
                    (
                        "Links",
                        .object([
                            ("Self", .string("/api/serverstatus")), ("Health", .string("/api/serverstatus/health")),
                        ])
                    ),
                ])
            )
        case 2 where context.rest[1].lowercased() == "health":
            var nodes = 0
            var draining = 0
            if store.hasTable("OctopusServerNode") {
                let counts = try store.with { database in
                    try database.query(
                        "SELECT COUNT(*), COALESCE(SUM(IsInMaintenanceMode <> 0), 0) FROM OctopusServerNode"
                    )
                    .rows.first
                }
                nodes = Int(counts?[0].integer ?? 0)
                draining = Int(counts?[1].integer ?? 0)
            }
            let licensed = try store.configuration("license") != nil
            let allDraining = nodes > 0 && draining == nodes
            var problems: [String] = []
            if maintenance { problems.append("the server is in maintenance mode") }
            if allDraining { problems.append("every node is draining its tasks") }
            if !licensed { problems.append("no licence is installed") }
            let description =
                problems.isEmpty
                ? "Octopus Server is operating normally."
                : "Octopus Server is not operating normally: \(problems.joined(separator: "; "))."
            return .json(
                200,
                .object([
                    ("IsOperatingNormally", .bool(problems.isEmpty)),
                    ("Description", .string(description)),
                    ("IsEntireClusterReadOnly", .bool(maintenance)),
                    ("IsEntireClusterDrainingTasks", .bool(allDraining)),
                    ("IsCompliantWithLicense", .bool(licensed)),
                    ("Links", .object([("Self", .string("/api/serverstatus/health"))])),
                ])
            )
        default:
            throw unknownPath(context.request)
        }
    }

    /// Server node rows other than this node's: production's nodes, on a clone whose nodes were not
    /// deleted. The stand-in reports `IsPotentialClone` when there are any (what Octopus checks is
    /// unconfirmed, octopus-facts.md §7).
    func otherNodes() throws -> Int {
        guard store.hasTable("OctopusServerNode") else { return 0 }
        return try store.with { database in
            Int(
                try database.query(
                    "SELECT COUNT(*) FROM OctopusServerNode WHERE Name IS NOT ?",
                    [.text(runtime.nodeName)]
                )
                .rows.first?.first?.integer ?? 0
            )
        }
    }

    /// `GET|PUT /api/serverconfiguration` (`ServerUri`, `Configuration` row `serverconfiguration`).
    func serverConfiguration(_ context: APIContext) throws -> HTTPResponse {
        guard context.rest.count == 1 else { throw unknownPath(context.request) }
        try Self.allow(context.request, ["GET", "HEAD", "PUT"])
        var document = try store.configuration("serverconfiguration") ?? JSONValue.Object()
        if context.request.method == "PUT" {
            let body = try Self.jsonObject(context.request)
            if let uri = body["ServerUri"], uri.stringValue == nil, !uri.isNull {
                throw APIError.badRequest("ServerUri must be a string or null, not \(uri).")
            }
            for (key, value) in body where key != "Links" && key != "Id" { document[key] = value }
            document["Id"] = .string("serverconfiguration")
            try store.setConfiguration("serverconfiguration", document)
            try recordModified("Server configuration", id: "serverconfiguration", user: context.user)
        }
        var response = JSONValue.Object([("Id", .string("serverconfiguration"))])
        for (key, value) in document where key != "Links" { response[key] = value }
        if response["ServerUri"] == nil { response["ServerUri"] = .null }
        response["Links"] = .object([("Self", .string("/api/serverconfiguration"))])
        return .json(200, .object(response))
    }

    /// `GET|PUT /api/maintenanceconfiguration` (`Id` `maintenance`, `IsInMaintenanceMode`).
    func maintenanceConfiguration(_ context: APIContext) throws -> HTTPResponse {
        guard context.rest.count == 1 else { throw unknownPath(context.request) }
        try Self.allow(context.request, ["GET", "HEAD", "PUT"])
        if context.request.method == "PUT" {
            let body = try Self.jsonObject(context.request)
            guard let flag = body["IsInMaintenanceMode"]?.boolValue else {
                throw APIError.badRequest("IsInMaintenanceMode must be true or false.")
            }
            try store.setConfiguration(
                "maintenance",
                JSONValue.Object([("Id", .string("maintenance")), ("IsInMaintenanceMode", .bool(flag))])
            )
            try recordModified("Maintenance configuration", id: "maintenance", user: context.user)
            log.info("\(context.user.name) turned maintenance mode \(flag ? "on" : "off").")
        }
        return .json(
            200,
            .object([
                ("Id", .string("maintenance")),
                ("IsInMaintenanceMode", .bool(try isInMaintenanceMode())),
                ("Links", .object([("Self", .string("/api/maintenanceconfiguration"))])),
            ])
        )
    }

    private func recordModified(_ what: String, id: String, user: APIUser) throws {
        try store.with { database in
            try StandInEvents.record(
                database,
                category: "Modified",
                spaceId: nil,
                message: "\(what) was modified",
                related: [id],
                actor: user.actor
            )
        }
    }
}
