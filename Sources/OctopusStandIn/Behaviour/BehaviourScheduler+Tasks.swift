import Foundation
import Wire

extension BehaviourScheduler {
    /// One target or worker row.
    struct Machine {
        var id: String
        var name: String
        var document: JSONValue.Object
    }

    /// Runs queued tasks, oldest first, at most this node's `MaxConcurrentTasks` per tick (one after
    /// another). `Deploy` and `RunbookRun` tasks contact their environment's enabled targets; `Health`
    /// tasks health-check; other tasks are logged as not simulated and succeed.
    func runQueuedTasks() throws {
        guard store.hasTable("ServerTask") else { return }
        let cap = try store.with { database in
            try database.query(
                "SELECT MaxConcurrentTasks FROM OctopusServerNode WHERE Name = ?",
                [.text(runtime.nodeName)]
            )
            .rows.first?.first?.integer
        }
        let queued = try store.with { database in
            try database.query(
                "SELECT Id FROM ServerTask WHERE State = 'Queued' ORDER BY QueueTime, length(Id), Id LIMIT ?",
                [.integer(max(1, cap ?? 5))]
            ).rows.compactMap { $0.first?.text }
        }
        for id in queued where !isStopping {
            try run(id)
        }
    }

    /// Claims a queued task and runs it to a final state.
    private func run(_ id: String) throws {
        let started = Date()
        let claimed = try store.with { database in
            try database.withTransaction { () throws -> [SQLValue]? in
                guard
                    try database.run(
                        "UPDATE ServerTask SET State = 'Executing' WHERE Id = ? AND State = 'Queued'",
                        [.text(id)]
                    )
                        == 1
                else { return nil }
                try StandInTasks.update(
                    database,
                    id: id,
                    state: "Executing",
                    members: [
                        ("StartTime", .string(OctopusTime.timestamp(started))),
                        ("ServerNode", .string(runtime.nodeName)),
                    ]
                )
                return try database.query("SELECT Name, SpaceId, JSON FROM ServerTask WHERE Id = ?", [.text(id)]).rows
                    .first
            }
        }
        guard let row = claimed else { return }
        let name = row[0].text ?? ""
        let spaceId = row[1].text
        let document = Self.document(row[2])
        let arguments = document["Arguments"]?.objectValue ?? JSONValue.Object()
        let folders = try StandInServerFolders.read(store: store, runtime: runtime, version: api.version)
        let taskLog = try StandInLogFile(path: StandInTasks.logPath(folders: folders, taskId: id))
        func write(_ level: String, _ message: String) {
            taskLog.append(
                "\(OctopusTime.timestamp())  \(level.padding(toLength: 7, withPad: " ", startingAt: 0))  \(message)"
            )
        }
        write("Info", "\(document["Description"]?.stringValue ?? name) (\(id)) started on node \(runtime.nodeName).")
        log.info("Task \(id) (\(name)) started.")
        var outcome: (state: String, error: String, warnings: Bool)
        switch name {
        case "Deploy", "RunbookRun":
            outcome = try deploy(id, spaceId: spaceId, arguments: arguments, write: write)
        case "Health":
            outcome = try healthTask(spaceId: spaceId, arguments: arguments, write: write)
        case OctopusAPI.exportTaskName, OctopusAPI.importTaskName:
            outcome = api.runExportImportTask(id, name: name, spaceId: spaceId, arguments: arguments, write: write)
        default:
            write("Info", "The stand-in does not simulate \(name) tasks; nothing was done.")
            outcome = ("Success", "", false)
        }
        if try currentState(id) == "Cancelling" {
            outcome = ("Canceled", "The task was canceled.", outcome.warnings)
        }
        let finished = Date()
        write(outcome.state == "Success" ? "Info" : "Error", "Task \(id) finished: \(outcome.state). \(outcome.error)")
        try store.with { database in
            try database.withTransaction {
                try StandInTasks.update(
                    database,
                    id: id,
                    state: outcome.state,
                    members: [
                        ("CompletedTime", .string(OctopusTime.timestamp(finished))),
                        ("Duration", .string(StandInTasks.duration(finished.timeIntervalSince(started)))),
                        ("ErrorMessage", .string(outcome.error)), ("HasWarningsOrErrors", .bool(outcome.warnings)),
                    ]
                )
                if name == "Deploy" {
                    let succeeded = outcome.state == "Success"
                    try StandInEvents.record(
                        database,
                        category: succeeded ? "DeploymentSucceeded" : "DeploymentFailed",
                        spaceId: spaceId,
                        message: "\(document["Description"]?.stringValue ?? id) \(succeeded ? "succeeded" : "failed")",
                        related: Self.related(arguments, task: id)
                    )
                }
            }
        }
        log.info("Task \(id) (\(name)) finished: \(outcome.state)\(outcome.error.isEmpty ? "." : ": \(outcome.error)")")
    }

    private static func related(_ arguments: JSONValue.Object, task: String) -> [String] {
        ["DeploymentId", "ProjectId", "ReleaseId", "EnvironmentId"].compactMap { arguments[$0]?.stringValue } + [task]
    }

    private func currentState(_ id: String) throws -> String? {
        try store.with { database in
            try database.query("SELECT State FROM ServerTask WHERE Id = ?", [.text(id)]).rows.first?.first?.text
        }
    }

    /// A deployment: the enabled targets of its environment (`Arguments.EnvironmentId`, or the
    /// `Deployment` row named by `Arguments.DeploymentId`), narrowed by `SpecificMachineIds` and
    /// `ExcludedMachineIds`, each contacted in turn.
    private func deploy(
        _ id: String,
        spaceId: String?,
        arguments: JSONValue.Object,
        write: (String, String) -> Void
    ) throws -> (state: String, error: String, warnings: Bool) {
        var environmentId = arguments["EnvironmentId"]?.stringValue
        if environmentId == nil, let deploymentId = arguments["DeploymentId"]?.stringValue, store.hasTable("Deployment")
        {
            environmentId = try store.with { database in
                try database.query("SELECT EnvironmentId FROM Deployment WHERE Id = ?", [.text(deploymentId)])
                    .rows.first?.first?.text
            }
        }
        guard let environmentId else {
            return ("Failed", "The task names no environment (Arguments.EnvironmentId or a Deployment row).", true)
        }
        if arguments["DeploymentId"] != nil {
            try store.with { database in
                try StandInEvents.record(
                    database,
                    category: "DeploymentStarted",
                    spaceId: spaceId,
                    message: "Deployment \(arguments["DeploymentId"]?.stringValue ?? id) to \(environmentId) started",
                    related: Self.related(arguments, task: id)
                )
            }
        }
        let specific = Set(Self.ids(arguments["SpecificMachineIds"]).map { $0.lowercased() })
        let excluded = Set(Self.ids(arguments["ExcludedMachineIds"]).map { $0.lowercased() })
        let all = try machines("Machine", spaceId: spaceId, environmentId: environmentId)
        let chosen = all.enabled.filter {
            (specific.isEmpty || specific.contains($0.id.lowercased())) && !excluded.contains($0.id.lowercased())
        }
        if all.disabled > 0 {
            write(
                "Info",
                "\(all.disabled) disabled deployment target(s) in \(environmentId) are skipped, never contacted."
            )
        }
        guard !chosen.isEmpty else {
            return ("Failed", "There are no enabled deployment targets in \(environmentId) to deploy to.", true)
        }
        var failures: [String] = []
        for machine in chosen {
            if isStopping { break }
            if try currentState(id) == "Cancelling" { break }
            let found = StandInContact.endpoint(of: machine.document)
            guard let endpoint = found.endpoint else {
                write("Warning", "\(machine.name) (\(machine.id)) is not contacted: \(found.reason).")
                failures.append(machine.name)
                continue
            }
            write("Info", "Contacting \(machine.name) (\(machine.id)) at \(endpoint).")
            switch StandInContact.touch(
                endpoint,
                line: StandInContact.line("deploy", id, machine.id),
                timeout: timing.connectTimeout,
                from: sourceAddress
            ) {
            case .success:
                write("Info", "\(machine.name) accepted the deployment.")
                log.info("Task \(id) contacted target \(machine.name) (\(machine.id)) at \(endpoint).")
            case .failure(let failure):
                write("Error", "\(machine.name) could not be reached: \(failure).")
                failures.append(machine.name)
            }
        }
        return failures.isEmpty
            ? ("Success", "", false)
            : ("Failed", "These deployment targets could not be reached: \(failures.joined(separator: ", ")).", true)
    }

    /// A `Health` task: the enabled targets in `Arguments.MachineIds`, or of `Arguments.EnvironmentId`,
    /// or all of the task's space.
    private func healthTask(
        spaceId: String?,
        arguments: JSONValue.Object,
        write: (String, String) -> Void
    ) throws -> (state: String, error: String, warnings: Bool) {
        let wanted = Set(Self.ids(arguments["MachineIds"]).map { $0.lowercased() })
        let found = try machines("Machine", spaceId: spaceId, environmentId: arguments["EnvironmentId"]?.stringValue)
        let chosen = found.enabled.filter { wanted.isEmpty || wanted.contains($0.id.lowercased()) }
        var unavailable = 0
        for machine in chosen where !isStopping {
            let status = try check("Machine", machine)
            write("Info", "\(machine.name) (\(machine.id)): \(status)")
            if status != "Healthy" { unavailable += 1 }
        }
        return ("Success", "", unavailable > 0)
    }

    /// The machines of a table, enabled ones with their documents and a count of disabled ones, in a
    /// space and environment when given.
    func machines(
        _ table: String,
        spaceId: String?,
        environmentId: String?
    ) throws -> (enabled: [Machine], disabled: Int) {
        var conditions = ["1 = 1"]
        var parameters: [SQLValue] = []
        if let spaceId, store.hasColumn(table, "SpaceId") {
            conditions.append("(SpaceId = ? OR SpaceId IS NULL)")
            parameters.append(.text(spaceId))
        }
        if let environmentId {
            conditions.append(
                "CASE WHEN json_valid([\(table)].JSON) THEN EXISTS (SELECT 1 FROM json_each([\(table)].JSON, '$.EnvironmentIds') "
                    + "WHERE value = ? COLLATE NOCASE) ELSE 0 END"
            )
            parameters.append(.text(environmentId))
        }
        guard
            let found = try rows(
                table,
                "SELECT Id, Name, IsDisabled, JSON FROM [\(table)] WHERE \(conditions.joined(separator: " AND ")) "
                    + "ORDER BY length(Id), Id",
                parameters
            )
        else { return ([], 0) }
        var enabled: [Machine] = []
        var disabled = 0
        for row in found {
            if row[2].integer ?? 0 != 0 {
                disabled += 1
            } else {
                let id = row[0].text ?? ""
                enabled.append(Machine(id: id, name: row[1].text ?? id, document: Self.document(row[3])))
            }
        }
        return (enabled, disabled)
    }

    /// Health-checks every enabled target and worker.
    func healthChecks() throws {
        for table in ["Machine", "Worker"] {
            for machine in try machines(table, spaceId: nil, environmentId: nil).enabled where !isStopping {
                _ = try check(table, machine)
            }
        }
    }

    /// Connects to one machine's endpoint and records its `HealthStatus` (`Healthy` or `Unavailable`);
    /// a change of a target's status is an event (`MachineHealthy`, `MachineUnavailable`). A polling
    /// Tentacle, which the server never connects to, keeps its status.
    /// - Returns: The status, or why it was not checked.
    @discardableResult
    func check(_ table: String, _ machine: Machine) throws -> String {
        let found = StandInContact.endpoint(of: machine.document)
        guard let endpoint = found.endpoint else { return "not checked: \(found.reason)" }
        let result = StandInContact.touch(
            endpoint,
            line: StandInContact.line("health-check", machine.id),
            timeout: timing.connectTimeout,
            from: sourceAddress
        )
        let status: String
        let summary: String
        switch result {
        case .success:
            status = "Healthy"
            summary = "The machine was contacted at \(endpoint)."
            log.info("Health check of \(machine.name) (\(machine.id)) at \(endpoint): Healthy.")
        case .failure(let failure):
            status = "Unavailable"
            summary = "The machine could not be contacted: \(failure)."
            log.info("Health check of \(machine.name) (\(machine.id)) at \(endpoint): Unavailable (\(failure)).")
        }
        try store.with { database in
            try database.withTransaction {
                let current = try database.query(
                    "SELECT IsDisabled, JSON, SpaceId FROM [\(table)] WHERE Id = ?",
                    [.text(machine.id)]
                )
                .rows.first
                guard let current, current[0].integer ?? 0 == 0 else { return }
                var document = Self.document(current[1])
                let previous = document["HealthStatus"]?.stringValue
                document["HealthStatus"] = .string(status)
                document["StatusSummary"] = .string(summary)
                document["HealthLastChecked"] = .string(OctopusTime.timestamp())
                try database.run(
                    "UPDATE [\(table)] SET JSON = ? WHERE Id = ?",
                    [.text(JSONValue.object(document).serialized()), .text(machine.id)]
                )
                if table == "Machine", previous != status {
                    try StandInEvents.record(
                        database,
                        category: status == "Healthy" ? "MachineHealthy" : "MachineUnavailable",
                        spaceId: current[2].text,
                        message: "\(machine.name) is \(status.lowercased())",
                        related: [machine.id]
                    )
                }
            }
        }
        return status
    }
}
