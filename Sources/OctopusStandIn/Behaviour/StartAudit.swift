import Wire

/// What a start found in the database, written as one JSON line to the audit log
/// (`<home>/Logs/standin-audit.jsonl`) before the server registers its node or does anything:
/// enough to tell whether a clone was quarantined before its first start.
enum StartAudit {
    /// Counts what would act on production and returns the audit document.
    ///
    /// `ServerNodes` counts every `OctopusServerNode` row before this node registers;
    /// `OtherServerNodes` those not named like this node. Targets, workers, triggers and subscriptions
    /// count rows with `IsDisabled = 0`; `QueuedTasks` counts `ServerTask` rows in state `Queued`. A
    /// table the schema does not have counts 0.
    static func take(store: StandInStore, runtime: ServerRuntime, listening: [String]) throws -> JSONValue.Object {
        func count(_ table: String, _ condition: String, _ parameters: [SQLValue] = []) throws -> Int64 {
            guard store.hasTable(table) else { return 0 }
            return try store.with { database in
                try database.query("SELECT COUNT(*) FROM [\(table)] WHERE \(condition)", parameters)
                    .rows.first?.first?.integer ?? 0
            }
        }
        let installationId = try store.configuration("upgradeavailability")?["InstallationId"]?.stringValue
        let serverUri = try store.configuration("serverconfiguration")?["ServerUri"]?.stringValue
        return JSONValue.Object([
            ("Time", .string(OctopusTime.timestamp())),
            ("Event", .string("start")),
            ("Instance", .string(runtime.instanceName)),
            ("Node", .string(runtime.nodeName)),
            ("Version", .string(runtime.version)),
            ("Listening", .array(listening.map { .string($0) })),
            ("ServerNodes", .integer(try count("OctopusServerNode", "1 = 1"))),
            ("OtherServerNodes", .integer(try count("OctopusServerNode", "Name IS NOT ?", [.text(runtime.nodeName)]))),
            ("EnabledTargets", .integer(try count("Machine", "IsDisabled = 0"))),
            ("EnabledWorkers", .integer(try count("Worker", "IsDisabled = 0"))),
            ("EnabledTriggers", .integer(try count("ProjectTrigger", "IsDisabled = 0"))),
            ("EnabledSubscriptions", .integer(try count("Subscription", "IsDisabled = 0"))),
            ("QueuedTasks", .integer(try count("ServerTask", "State = 'Queued'"))),
            ("InstallationId", installationId.map { .string($0) } ?? .null),
            ("ServerUri", serverUri.map { .string($0) } ?? .null),
        ])
    }

    /// Registers this node as Octopus does at start: its `OctopusServerNode` row (Id
    /// `OctopusServerNodes-<node name>`, created when missing; an existing row keeps its drain flag and
    /// task cap) and its `OctopusServerNodeStatus` heartbeat.
    /// - Returns: The node's Id.
    @discardableResult
    static func registerNode(store: StandInStore, runtime: ServerRuntime) throws -> String? {
        guard store.hasTable("OctopusServerNode") else { return nil }
        return try store.with { database in
            try database.withTransaction {
                let now = OctopusTime.timestamp()
                let existing = try database.query(
                    "SELECT Id, JSON, IsInMaintenanceMode, MaxConcurrentTasks FROM OctopusServerNode WHERE Name = ?",
                    [.text(runtime.nodeName)]
                ).rows.first
                let id = existing?[0].text ?? "OctopusServerNodes-\(runtime.nodeName)"
                var document =
                    existing?[1].text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
                document["Id"] = .string(id)
                document["Name"] = .string(runtime.nodeName)
                document["MaxConcurrentTasks"] = .integer(existing?[3].integer ?? 5)
                document["IsInMaintenanceMode"] = .bool((existing?[2].integer ?? 0) != 0)
                document["Rank"] = .string("Leader")
                document["LastSeen"] = .string(now)
                if existing == nil {
                    try database.run(
                        "INSERT INTO OctopusServerNode (Id, Name, IsInMaintenanceMode, MaxConcurrentTasks, JSON) "
                            + "VALUES (?, ?, 0, 5, ?)",
                        [.text(id), .text(runtime.nodeName), .text(JSONValue.object(document).serialized())]
                    )
                } else {
                    try database.run(
                        "UPDATE OctopusServerNode SET JSON = ? WHERE Id = ?",
                        [.text(JSONValue.object(document).serialized()), .text(id)]
                    )
                }
                try heartbeat(database, nodeId: id, now: now)
                return id
            }
        }
    }

    /// Writes the node's `OctopusServerNodeStatus` row (when the schema has the table).
    static func heartbeat(_ database: SQLiteDatabase, nodeId: String, now: String) throws {
        guard try database.tableExists("OctopusServerNodeStatus") else { return }
        let document = JSONValue.object([("Id", .string(nodeId)), ("LastSeen", .string(now))])
        try database.run(
            "INSERT INTO OctopusServerNodeStatus (Id, LastSeen, JSON) VALUES (?, ?, ?) "
                + "ON CONFLICT(Id) DO UPDATE SET LastSeen = excluded.LastSeen, JSON = excluded.JSON",
            [.text(nodeId), .text(now), .text(document.serialized())]
        )
    }
}
