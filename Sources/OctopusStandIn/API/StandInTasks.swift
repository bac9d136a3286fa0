import Foundation
import Wire

/// Server tasks as the API and the task runner share them: states, creation, state changes and logs.
enum StandInTasks {
    /// Octopus's task states (`Canceled` with one l).
    static let states = ["Queued", "Executing", "Failed", "Canceled", "TimedOut", "Success", "Cancelling"]
    /// The states of a task that has not finished.
    static let activeStates: Set<String> = ["Queued", "Executing", "Cancelling"]

    static let kind = APIResourceKind(
        collection: "tasks",
        table: "ServerTask",
        itemType: "Task",
        spaceScoped: true,
        writable: false
    )

    /// The task log file, `<LogsDirectory>/<id lower-cased>.log.txt`, as Octopus names them.
    static func logPath(folders: StandInServerFolders, taskId: String) -> String {
        "\(folders.taskLogs)/\(taskId.lowercased()).log.txt"
    }

    /// Queues a task.
    /// - Returns: The new task's Id (`ServerTasks-N`).
    static func create(
        _ database: SQLiteDatabase,
        name: String,
        description: String,
        spaceId: String?,
        arguments: JSONValue.Object
    ) throws -> String {
        let id = try StandInStore.nextId(database, table: "ServerTask", prefix: "ServerTasks")
        let now = OctopusTime.timestamp()
        let document = JSONValue.Object([
            ("Id", .string(id)),
            ("Name", .string(name)),
            ("Description", .string(description)),
            ("Arguments", .object(arguments)),
            ("State", .string("Queued")),
            ("QueueTime", .string(now)),
            ("StartTime", .null),
            ("CompletedTime", .null),
            ("ErrorMessage", .string("")),
            ("ServerNode", .null),
            ("HasWarningsOrErrors", .bool(false)),
            ("SpaceId", spaceId.map { .string($0) } ?? .null),
        ])
        try database.run(
            "INSERT INTO ServerTask (Id, Name, SpaceId, State, QueueTime, JSON) VALUES (?, ?, ?, 'Queued', ?, ?)",
            [
                .text(id), .text(name), spaceId.map { .text($0) } ?? .null, .text(now),
                .text(JSONValue.object(document).serialized()),
            ]
        )
        return id
    }

    /// Sets a task's `State` column and document, with further document members.
    static func update(_ database: SQLiteDatabase, id: String, state: String, members: [(String, JSONValue)]) throws {
        let text = try database.query("SELECT JSON FROM ServerTask WHERE Id = ?", [.text(id)]).rows.first?.first?.text
        var document = text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
        document["State"] = .string(state)
        for (key, value) in members { document[key] = value }
        try database.run(
            "UPDATE ServerTask SET State = ?, JSON = ? WHERE Id = ?",
            [.text(state), .text(JSONValue.object(document).serialized()), .text(id)]
        )
    }

    /// A duration as Octopus shows it, e.g. `1 second`, `3 minutes`.
    static func duration(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded()))
        if whole < 60 { return whole == 1 ? "1 second" : "\(whole) seconds" }
        let minutes = whole / 60
        if minutes < 60 { return minutes == 1 ? "1 minute" : "\(minutes) minutes" }
        let hours = minutes / 60
        return hours == 1 ? "1 hour" : "\(hours) hours"
    }
}
