import Wire

extension BehaviourScheduler {
    /// Fires every enabled scheduled trigger: a `ProjectTrigger` with `IsDisabled = 0` whose
    /// `Filter.FilterType` ends in `Schedule` (`OnceDailySchedule`, `ContinuousDailySchedule`,
    /// `DaysPerMonthSchedule`, `CronExpressionSchedule` …). Its schedule is compressed to the trigger
    /// interval. Each environment of its `Action` (`DestinationEnvironmentId`, `EnvironmentId`,
    /// `EnvironmentIds`) gets a queued task: `Deploy` (with a `Deployment` row) or, for a `RunRunbook`
    /// action, `RunbookRun`. Event-based triggers (`MachineFilter`) are not simulated.
    func fireTriggers() throws {
        guard
            let triggers = try rows(
                "ProjectTrigger",
                "SELECT Id, Name, SpaceId, ProjectId, JSON FROM ProjectTrigger WHERE IsDisabled = 0 ORDER BY length(Id), Id"
            )
        else { return }
        for trigger in triggers where !isStopping {
            let id = trigger[0].text ?? ""
            let name = trigger[1].text ?? id
            let document = Self.document(trigger[4])
            let filterType = document["Filter"]?["FilterType"]?.stringValue ?? ""
            guard filterType.lowercased().hasSuffix("schedule") else { continue }
            let action = document["Action"]?.objectValue ?? JSONValue.Object()
            let actionType = action["ActionType"]?.stringValue ?? ""
            var environments: [String] = []
            for key in ["DestinationEnvironmentId", "EnvironmentId", "EnvironmentIds"] {
                for environment in Self.ids(action[key]) where !environments.contains(environment) {
                    environments.append(environment)
                }
            }
            guard !environments.isEmpty else {
                log.warn(
                    "Scheduled trigger \(name) (\(id)) fired, but its Action names no environment; nothing was queued."
                )
                continue
            }
            let projectId = trigger[3].text ?? document["ProjectId"]?.stringValue
            for environment in environments {
                let queued = try store.with { database in
                    try database.withTransaction {
                        try queue(
                            database,
                            trigger: (id, name),
                            spaceId: trigger[2].text,
                            projectId: projectId,
                            environmentId: environment,
                            runbookId: actionType == "RunRunbook" ? action["RunbookId"]?.stringValue ?? "" : nil
                        )
                    }
                }
                log.info("Scheduled trigger \(name) (\(id)) fired: queued \(queued).")
            }
        }
    }

    /// Queues one deployment (or runbook run) task for a trigger; returns a description.
    private func queue(
        _ database: SQLiteDatabase,
        trigger: (id: String, name: String),
        spaceId: String?,
        projectId: String?,
        environmentId: String,
        runbookId: String?
    ) throws -> String {
        func name(_ table: String, _ column: String, _ id: String?) throws -> String? {
            guard let id, try database.tableExists(table) else { return nil }
            return try database.query("SELECT [\(column)] FROM [\(table)] WHERE Id = ?", [.text(id)]).rows.first?.first?
                .text
        }
        let projectName = try name("Project", "Name", projectId) ?? projectId ?? "no project"
        let environmentName = try name("Environment", "Name", environmentId) ?? environmentId
        var arguments = JSONValue.Object([
            ("EnvironmentId", .string(environmentId)),
            ("ProjectId", projectId.map { .string($0) } ?? .null),
            ("TriggerId", .string(trigger.id)),
        ])
        if let runbookId {
            arguments["RunbookId"] = .string(runbookId)
            let task = try StandInTasks.create(
                database,
                name: "RunbookRun",
                description:
                    "Run runbook \(runbookId) of \(projectName) in \(environmentName) (trigger \(trigger.name))",
                spaceId: spaceId,
                arguments: arguments
            )
            return "\(task) to run runbook \(runbookId) in \(environmentName)"
        }
        var releaseId: String?
        var releaseVersion = "latest"
        if let projectId, try database.tableExists("Release") {
            let release = try database.query(
                "SELECT Id, Version FROM Release WHERE ProjectId = ? ORDER BY rowid DESC LIMIT 1",
                [.text(projectId)]
            ).rows.first
            releaseId = release?[0].text
            releaseVersion = release?[1].text ?? releaseVersion
        }
        arguments["ReleaseId"] = releaseId.map { .string($0) } ?? .null
        var deploymentId: String?
        if try database.tableExists("Deployment") {
            deploymentId = try StandInStore.nextId(database, table: "Deployment", prefix: "Deployments")
            arguments["DeploymentId"] = deploymentId.map { .string($0) }
        }
        let description = "Deploy \(projectName) release \(releaseVersion) to \(environmentName)"
        let task = try StandInTasks.create(
            database,
            name: "Deploy",
            description: "\(description) (trigger \(trigger.name))",
            spaceId: spaceId,
            arguments: arguments
        )
        if let deploymentId {
            let document = JSONValue.object([
                ("Id", .string(deploymentId)), ("ReleaseId", releaseId.map { .string($0) } ?? .null),
                ("EnvironmentId", .string(environmentId)), ("ProjectId", projectId.map { .string($0) } ?? .null),
                ("TaskId", .string(task)), ("Name", .string("Deploy to \(environmentName)")),
                ("Created", .string(OctopusTime.timestamp())), ("SpaceId", spaceId.map { .string($0) } ?? .null),
            ])
            try database.run(
                "INSERT INTO Deployment (Id, SpaceId, ReleaseId, EnvironmentId, TaskId, JSON) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    .text(deploymentId), spaceId.map { .text($0) } ?? .null, releaseId.map { .text($0) } ?? .null,
                    .text(environmentId), .text(task), .text(document.serialized()),
                ]
            )
        }
        try StandInEvents.record(
            database,
            category: "DeploymentQueued",
            spaceId: spaceId,
            message: "\(description) queued by trigger \(trigger.name)",
            related: [deploymentId, projectId, releaseId, environmentId, task, trigger.id].compactMap { $0 }
        )
        return "\(task) to deploy \(projectName) to \(environmentName)"
    }
}
