import Foundation

/// Fills an Octopus database with a realistic "production": spaces, environments, projects with their
/// channels, lifecycles and variables, targets and workers, scheduled triggers, webhook subscriptions, queued
/// deployments, accounts and certificates with encrypted secrets, a server node, extension configuration,
/// and the Configuration rows Octopus keeps (Installation ID, licence, Server URI, maintenance).
///
/// The JSON documents use the field names of Octopus's REST resources (octopus-facts.md §4) and the shapes
/// docs/standin-api.md says the stand-in's server acts on: `Endpoint.Uri` for targets and workers,
/// `EventNotificationSubscription.WebhookURI` for subscriptions, `Action`/`Filter` for triggers.
public struct Seeder {
    /// Which parts of the model the seeded version has.
    public struct Features: Sendable, Hashable {
        /// Spaces (2019.1 and later); before, everything is unscoped.
        public var spaces: Bool
        /// Workers (2018.7 and later).
        public var workers: Bool

        public init(spaces: Bool, workers: Bool) {
            self.spaces = spaces
            self.workers = workers
        }
    }

    let database: SQLiteDatabase
    let plan: SeedPlan
    let features: Features
    let encrypt: (String) throws -> String
    /// The API key production's admin gets (stored hashed, as Octopus does).
    public let apiKey: String
    private var summary: SeedSummary
    private var counters: [String: Int] = [:]

    /// - Parameters:
    ///   - database: A database with the Octopus tables and nothing else in them.
    ///   - plan: What to seed.
    ///   - version: The version the database is at (recorded in the summary).
    ///   - features: The parts of the model this version has.
    ///   - encrypt: Encrypts a sensitive value with the instance's Master Key.
    public init(
        database: SQLiteDatabase,
        plan: SeedPlan,
        version: String,
        features: Features,
        encrypt: @escaping (String) throws -> String
    ) {
        self.database = database
        self.plan = plan
        self.features = features
        self.encrypt = encrypt
        self.summary = SeedSummary(version: version)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        self.apiKey = "API-" + String((0..<26).map { _ in alphabet.randomElement() ?? "A" })
    }

    /// Writes every row, in one transaction.
    /// - Returns: What was written.
    public mutating func populate() throws -> SeedSummary {
        try database.withTransaction {
            try seedServer()
            let spaceIds = features.spaces ? (1...max(1, plan.spaces)).map { "Spaces-\($0)" } : [""]
            for (index, spaceId) in spaceIds.enumerated() {
                try seedSpace(spaceId, number: index + 1)
            }
        }
        return summary
    }

    // MARK: - Server-wide rows

    private mutating func seedServer() throws {
        let installationId = UUID().uuidString.lowercased()
        summary.installationId = installationId
        summary.serverURI = plan.serverURI
        try insert("OctopusServerNode", id: "prod-node-1", name: "prod-node-1", json: ["Rank": "Leader"])
        summary.serverNodes = 1
        if try database.tableExists("OctopusServerNodeStatus") {
            try database.run(
                "INSERT INTO [OctopusServerNodeStatus] ([Id], [LastSeen], [JSON]) VALUES (?, ?, '{}')",
                [.text("prod-node-1"), .text("2026-11-23T22:00:00Z")]
            )
        }
        try insertConfiguration("upgradeavailability", ["InstallationId": installationId, "UpdateAvailable": false])
        try insertConfiguration(
            "license",
            ["LicenseText": "<License Signature=\"stand-in\"><LicensedTo>Production Ltd</LicensedTo></License>"]
        )
        try insertConfiguration("serverconfiguration", ["ServerUri": plan.serverURI])
        try insertConfiguration("maintenance", ["IsInMaintenanceMode": false])
        for id in ["authentication-octopusid", "jira-integration", "authentication-usernamepassword"] {
            try insert("ExtensionConfiguration", id: id, name: id, json: ["IsEnabled": true])
        }
        try database.run(
            "INSERT INTO [ApiKey] ([Id], [UserId], [ApiKeyHashed], [JSON]) VALUES ('ApiKeys-1', 'Users-1', ?, ?)",
            [
                .text(APIKeyHash.hashed(apiKey)),
                .text(try json(["Purpose": "octoprov sandbox", "Created": "2026-11-23"])),
            ]
        )
        try insert(
            "User",
            id: "Users-1",
            name: "admin",
            json: ["Username": "admin", "DisplayName": "Production admin", "EmailAddress": "admin@example.com"]
        )
    }

    // MARK: - One space

    private mutating func seedSpace(_ spaceId: String, number: Int) throws {
        let space: String? = spaceId.isEmpty ? nil : spaceId
        if let space {
            try database.run(
                "INSERT OR REPLACE INTO [Space] ([Id], [Name], [IsDefault], [JSON]) VALUES (?, ?, ?, ?)",
                [
                    .text(space), .text(number == 1 ? "Default" : "Space \(number)"), .integer(number == 1 ? 1 : 0),
                    .text(try json(["Description": "Seeded space \(number)", "TaskQueueStopped": false])),
                ]
            )
            summary.spaces.append(space)
        }
        let environmentNames = ["Development", "Test", "Production"]
        let environments = try environmentNames.map { name in
            let id = nextId("Environments")
            try insert("Environment", id: id, name: name, space: space, json: ["UseGuidedFailure": false])
            summary.environments += 1
            return id
        }
        // Octopus's "Default Lifecycle": one phase per environment, named after it, releases kept forever.
        let lifecycle = nextId("Lifecycles")
        let keepForever: [String: Any] = ["Unit": "Days", "QuantityToKeep": 0, "ShouldKeepForever": true]
        try insert(
            "Lifecycle",
            id: lifecycle,
            name: ProjectExportOptions.defaultLifecycleName,
            space: space,
            json: [
                "Description": "", "ReleaseRetentionPolicy": keepForever, "TentacleRetentionPolicy": keepForever,
                "Phases": zip(environmentNames, environments).map { name, environment in
                    [
                        "Id": UUID().uuidString.lowercased(), "Name": name, "AutomaticDeploymentTargets": [],
                        "OptionalDeploymentTargets": [environment], "MinimumEnvironmentsBeforePromotion": 0,
                        "IsOptionalPhase": false,
                    ]
                },
            ]
        )
        let group = nextId("ProjectGroups")
        try insert("ProjectGroup", id: group, name: "All Projects", space: space, json: [:])

        var projects: [String] = []
        for index in 1...max(1, plan.projects) {
            let name = "Web App \(number).\(index)"
            let project = nextId("Projects")
            let variableSet = ProjectDocuments.variableSetId(project: project)
            let process = ProjectDocuments.processId(project: project)
            let spaceMember: [String: Any] = space.map { ["SpaceId": $0] } ?? [:]
            try insert(
                "Project",
                id: project,
                name: name,
                space: space,
                json: [
                    "Slug": name.lowercased().replacingOccurrences(of: " ", with: "-").replacingOccurrences(
                        of: ".",
                        with: "-"
                    ),
                    "ProjectGroupId": group, "LifecycleId": lifecycle, "VariableSetId": variableSet,
                    "DeploymentProcessId": process, "Description": "Seeded project",
                    "LastModifiedOn": Self.seededAt, "LastModifiedBy": "admin",
                ]
            )
            let channel = nextId("Channels")
            try database.run(
                "INSERT INTO [Channel] ([Id], [Name], [SpaceId], [ProjectId], [JSON]) VALUES (?, ?, ?, ?, ?)",
                [
                    .text(channel), .text("Default"), space.map(SQLValue.text) ?? .null, .text(project),
                    // The default channel follows the project's lifecycle: `LifecycleId` null, as Octopus stores it.
                    .text(
                        try json([
                            "IsDefault": true, "LifecycleId": NSNull(), "ProjectId": project, "Description": "",
                            "Rules": [], "TenantTags": [],
                        ])
                    ),
                ]
            )
            let variables: [String: Any] = spaceMember.merging([
                "OwnerId": project, "Version": 1, "LastModifiedOn": Self.seededAt, "LastModifiedBy": "admin",
                "Variables": [
                    [
                        "Id": UUID().uuidString.lowercased(), "Name": "ConnectionString",
                        "Value": "Server=db;Database=\(name)", "Type": "String", "IsSensitive": false, "Scope": [:],
                    ],
                    [
                        "Id": UUID().uuidString.lowercased(), "Name": "ApiPassword",
                        "Value": try encrypt("p@ss-\(project)"), "Type": "Sensitive", "IsSensitive": true,
                        "Scope": [:],
                    ],
                ],
            ]) { first, _ in first }
            let steps = Self.steps(project: name, role: "web-server")
            // The release was created from Version 1 of the process and variables: frozen snapshots of both.
            let processSnapshot = "\(process)-s-1-\(Self.snapshotSuffix(number, index))"
            let variableSnapshot = "\(variableSet)-s-1-\(Self.snapshotSuffix(number, index))"
            let processDocument: [String: Any] = spaceMember.merging([
                "ProjectId": project, "Version": 1, "Steps": steps, "LastSnapshotId": processSnapshot,
                "LastModifiedOn": Self.seededAt, "LastModifiedBy": "admin",
            ]) { first, _ in first }
            for (id, frozen) in [(variableSet, false), (variableSnapshot, true)] {
                try database.run(
                    "INSERT INTO [VariableSet] ([Id], [SpaceId], [OwnerId], [IsFrozen], [JSON]) VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(id), space.map(SQLValue.text) ?? .null, .text(project), .integer(frozen ? 1 : 0),
                        .text(try json(variables.merging(["Id": id]) { _, new in new })),
                    ]
                )
            }
            for (id, frozen) in [(process, false), (processSnapshot, true)] {
                try database.run(
                    "INSERT INTO [DeploymentProcess] ([Id], [SpaceId], [OwnerId], [IsFrozen], [JSON]) "
                        + "VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(id), space.map(SQLValue.text) ?? .null, .text(project), .integer(frozen ? 1 : 0),
                        .text(try json(processDocument.merging(["Id": id]) { _, new in new })),
                    ]
                )
            }
            let release = nextId("Releases")
            try database.run(
                "INSERT INTO [Release] ([Id], [SpaceId], [ProjectId], [Version], [JSON]) VALUES (?, ?, ?, ?, ?)",
                [
                    .text(release), space.map(SQLValue.text) ?? .null, .text(project), .text("1.0.\(index)"),
                    .text(
                        try json(
                            spaceMember.merging([
                                "ProjectId": project, "Version": "1.0.\(index)", "ChannelId": channel,
                                "ReleaseNotes": "Seeded", "Assembled": Self.seededAt, "IgnoreChannelRules": false,
                                "ProjectDeploymentProcessSnapshotId": processSnapshot,
                                "ProjectVariableSetSnapshotId": variableSnapshot, "LibraryVariableSetSnapshotIds": [],
                                "SelectedPackages": [["ActionName": "Deploy web package", "Version": "1.0.\(index)"]],
                                "BuildInformation": [], "LastModifiedOn": Self.seededAt, "LastModifiedBy": "admin",
                            ]) { first, _ in first }
                        )
                    ),
                ]
            )
            let event = nextId("Events")
            try database.run(
                "INSERT INTO [Event] ([Id], [SpaceId], [Category], [Occurred], [JSON]) VALUES (?, ?, ?, ?, ?)",
                [
                    .text(event), space.map(SQLValue.text) ?? .null, .text("DeploymentSucceeded"),
                    .text("2026-11-23T22:00:00.000+00:00"),
                    .text(
                        try json([
                            "Category": "DeploymentSucceeded",
                            "Message": "Deploy \(name) 1.0.\(index) to Production succeeded",
                            "RelatedDocumentIds": [project, environments[2]],
                        ])
                    ),
                ]
            )
            projects.append(project)
            summary.projectNames[spaceId.isEmpty ? "" : spaceId, default: []].append(name)
            summary.projects += 1
        }

        for index in 1...max(1, plan.targets) where plan.targets > 0 {
            try insert(
                "Machine",
                id: nextId("Machines"),
                name: "web-\(number)-\(index)",
                space: space,
                json: [
                    "Endpoint": [
                        "CommunicationStyle": "TentaclePassive", "Uri": plan.targetEndpoint,
                        "Thumbprint": String(repeating: "A1", count: 20),
                    ],
                    "EnvironmentIds": [environments[index % environments.count]], "Roles": ["web-server"],
                    "HealthStatus": "Healthy", "Status": "Online",
                ]
            )
            summary.targets += 1
        }
        if features.workers {
            let pool = nextId("WorkerPools")
            try insert("WorkerPool", id: pool, name: "Default Worker Pool", space: space, json: ["IsDefault": true])
            for index in 1...max(1, plan.workers) where plan.workers > 0 {
                try insert(
                    "Worker",
                    id: nextId("Workers"),
                    name: "worker-\(number)-\(index)",
                    space: space,
                    json: [
                        "Endpoint": ["CommunicationStyle": "TentaclePassive", "Uri": plan.targetEndpoint],
                        "WorkerPoolIds": [pool], "HealthStatus": "Healthy",
                    ]
                )
                summary.workers += 1
            }
        }
        for index in 0..<plan.triggers {
            let project = projects[index % projects.count]
            try database.run(
                """
                INSERT INTO [ProjectTrigger] ([Id], [Name], [SpaceId], [ProjectId], [IsDisabled], [JSON])
                VALUES (?, ?, ?, ?, 0, ?)
                """,
                [
                    .text(nextId("ProjectTriggers")), .text("Nightly deploy \(index + 1)"),
                    space.map(SQLValue.text) ?? .null,
                    .text(project),
                    .text(
                        try json([
                            "Filter": ["FilterType": "CronExpressionSchedule", "CronExpression": "0 0 * * * *"],
                            "Action": [
                                "ActionType": "DeployLatestRelease", "DestinationEnvironmentId": environments[2],
                                "SourceEnvironmentIds": [environments[1]],
                            ],
                        ])
                    ),
                ]
            )
            summary.triggers += 1
        }
        for index in 0..<plan.subscriptions {
            try insert(
                "Subscription",
                id: nextId("Subscriptions"),
                name: "Notify ops \(index + 1)",
                space: space,
                json: [
                    "Type": "Event",
                    "EventNotificationSubscription": [
                        "Filter": ["EventCategories": [], "Projects": [], "Environments": [], "Users": []],
                        "WebhookURI": plan.webhookURL, "WebhookTimeout": "00:00:10",
                        // Every event in the backup is still to be posted: a clone starting with this
                        // subscription enabled contacts the webhook at once (docs/standin-api.md).
                        "WebhookLastProcessedEventAutoId": 0,
                    ],
                ]
            )
            summary.subscriptions += 1
        }
        for index in 0..<plan.queuedTasks {
            let project = projects[index % projects.count]
            try database.run(
                "INSERT INTO [ServerTask] ([Id], [Name], [SpaceId], [State], [QueueTime], [JSON]) VALUES (?, ?, ?, 'Queued', ?, ?)",
                [
                    .text(nextId("ServerTasks")), .text("Deploy"), space.map(SQLValue.text) ?? .null,
                    .text("2026-11-23T23:59:00Z"),
                    .text(
                        try json([
                            "Description": "Deploy \(project) to Production",
                            "Arguments": ["ProjectId": project, "EnvironmentId": environments[2]],
                        ])
                    ),
                ]
            )
            summary.queuedTasks += 1
        }
        try insert(
            "Account",
            id: nextId("Accounts"),
            name: "Production SQL login",
            space: space,
            json: [
                "AccountType": "UsernamePassword", "Username": "deploy", "Password": try encrypt("s3cret-\(number)"),
            ]
        )
        summary.accounts += 1
        try insert(
            "Certificate",
            id: nextId("Certificates"),
            name: "wildcard.example.com",
            space: space,
            json: [
                "Thumbprint": String(repeating: "B2", count: 20),
                "CertificateData": try encrypt("-----BEGIN PRIVATE KEY-----seed-\(number)-----END PRIVATE KEY-----"),
            ]
        )
        summary.certificates += 1
    }

    // MARK: - Helpers

    /// When the seeded documents were last modified (before the seeded deployment events).
    static let seededAt = "2026-11-23T21:00:00.000+00:00"

    /// Five letters for a seeded snapshot Id, as Octopus's random ones look, but the same on every run.
    static func snapshotSuffix(_ space: Int, _ project: Int) -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ")
        var value = space * 7919 + project * 104_729
        return String(
            (0..<5).map { _ in
                defer { value /= alphabet.count }
                return alphabet[value % alphabet.count]
            }
        )
    }

    /// A two-step process as Octopus stores one: deploy a package to the role's targets, then a smoke-test
    /// script run on the server. Steps and actions carry Octopus's members and GUID Ids.
    static func steps(project: String, role: String) -> [[String: Any]] {
        func step(
            _ name: String,
            actionType: String,
            properties: [String: String],
            packages: [[String: Any]]
        )
            -> [String: Any]
        {
            [
                "Id": UUID().uuidString.lowercased(), "Name": name, "PackageRequirement": "LetOctopusDecide",
                "Properties": actionType == "Octopus.TentaclePackage" ? ["Octopus.Action.TargetRoles": role] : [:],
                "Condition": "Success", "StartTrigger": "StartAfterPrevious",
                "Actions": [
                    [
                        "Id": UUID().uuidString.lowercased(), "Name": name, "ActionType": actionType,
                        "IsDisabled": false, "IsRequired": false, "Environments": [], "ExcludedEnvironments": [],
                        "Channels": [], "TenantTags": [], "Properties": properties, "Packages": packages,
                    ]
                ],
            ]
        }
        let packageId = project.replacingOccurrences(of: " ", with: "")
        return [
            step(
                "Deploy web package",
                actionType: "Octopus.TentaclePackage",
                properties: [
                    "Octopus.Action.Package.PackageId": packageId, "Octopus.Action.Package.FeedId": "feeds-builtin",
                    "Octopus.Action.Package.DownloadOnTentacle": "False",
                ],
                packages: [
                    [
                        "Name": "", "PackageId": packageId, "FeedId": "feeds-builtin", "AcquisitionLocation": "Server",
                        "Properties": [:],
                    ]
                ]
            ),
            step(
                "Smoke test",
                actionType: "Octopus.Script",
                properties: [
                    "Octopus.Action.RunOnServer": "true", "Octopus.Action.Script.Syntax": "PowerShell",
                    "Octopus.Action.Script.ScriptSource": "Inline",
                    "Octopus.Action.Script.ScriptBody": "Write-Host 'Smoke testing \(project)'",
                ],
                packages: []
            ),
        ]
    }

    private mutating func nextId(_ prefix: String) -> String {
        counters[prefix, default: 0] += 1
        return "\(prefix)-\(counters[prefix] ?? 0)"
    }

    private func insert(
        _ table: String,
        id: String,
        name: String,
        space: String? = nil,
        json document: [String: Any]
    )
        throws
    {
        var columns = ["[Id]", "[Name]", "[JSON]"]
        var values: [SQLValue] = [.text(id), .text(name), .text(try json(document))]
        if features.spaces, table != "OctopusServerNode", table != "ExtensionConfiguration", table != "User" {
            columns.append("[SpaceId]")
            values.append(space.map(SQLValue.text) ?? .null)
        }
        let marks = Array(repeating: "?", count: values.count).joined(separator: ", ")
        try database.run("INSERT INTO [\(table)] (\(columns.joined(separator: ", "))) VALUES (\(marks))", values)
    }

    private func insertConfiguration(_ id: String, _ document: [String: Any]) throws {
        try database.run(
            "INSERT OR REPLACE INTO [Configuration] ([Id], [JSON]) VALUES (?, ?)",
            [.text(id), .text(try json(document))]
        )
    }

    private func json(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
