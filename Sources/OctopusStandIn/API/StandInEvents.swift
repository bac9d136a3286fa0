import Wire

/// Who caused an event: a user of the API, or the server itself (`users-system`).
struct StandInActor: Sendable {
    var userId: String
    var username: String

    static let system = StandInActor(userId: "users-system", username: "system")
}

/// The audit events the stand-in records in the `Event` table, shaped like Octopus's (the document a
/// subscription's webhook carries as `Payload.Event`). Their order is the table's `rowid`, which plays
/// Octopus's `AutoId` (what `WebhookLastProcessedEventAutoId` counts).
enum StandInEvents {
    /// Records one event; does nothing when the schema has no `Event` table.
    /// - Parameters:
    ///   - database: The connection (the caller holds the store's lock).
    ///   - category: Octopus's category, e.g. `DeploymentQueued`, `Modified`, `MachineHealthy`.
    ///   - spaceId: The space, when the event belongs to one.
    ///   - message: The human message.
    ///   - related: Related document Ids (`Deployments-1`, `Projects-1`, `ServerTasks-1` …).
    ///   - actor: Who caused it.
    /// - Returns: The new event's Id, or `nil` without an `Event` table.
    @discardableResult
    static func record(
        _ database: SQLiteDatabase,
        category: String,
        spaceId: String?,
        message: String,
        related: [String],
        actor: StandInActor = .system
    ) throws -> String? {
        guard try database.tableExists("Event") else { return nil }
        let id = try StandInStore.nextId(database, table: "Event", prefix: "Events")
        let occurred = OctopusTime.timestamp()
        var document = JSONValue.Object([
            ("Id", .string(id)),
            ("RelatedDocumentIds", .array(related.map { .string($0) })),
            ("Category", .string(category)),
            ("UserId", .string(actor.userId)),
            ("Username", .string(actor.username)),
            ("IsService", .bool(actor.userId == StandInActor.system.userId)),
            ("IdentityEstablishedWith", .string(actor.userId == StandInActor.system.userId ? "" : "API key")),
            ("UserAgent", .string("Server")),
            ("Occurred", .string(occurred)),
            ("Message", .string(message)),
            ("MessageHtml", .string(message)),
            ("MessageReferences", .array([])),
            ("Comments", .null),
            ("Details", .null),
        ])
        document["SpaceId"] = spaceId.map { .string($0) } ?? .null
        document["Links"] = .object([("Self", .string("/api/events/\(id)"))])
        try database.run(
            "INSERT INTO Event (Id, SpaceId, Category, Occurred, JSON) VALUES (?, ?, ?, ?, ?)",
            [
                .text(id), spaceId.map { .text($0) } ?? .null, .text(category), .text(occurred),
                .text(JSONValue.object(document).serialized()),
            ]
        )
        return id
    }
}
