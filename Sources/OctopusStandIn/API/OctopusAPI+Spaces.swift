import Foundation
import Wire

extension OctopusAPI {
    /// `POST /api/spaces` (2019.1 and later): creates a space, as Octopus does for a test instance's import into a
    /// space it does not have yet. Octopus needs a `Name` no other space has and at least one space manager
    /// (`SpaceManagersTeams` or `SpaceManagersTeamMembers`); the answer is `201` with the new space.
    func createSpace(_ context: APIContext) throws -> HTTPResponse {
        let body = try Self.jsonObject(context.request)
        guard let name = body["Name"]?.stringValue?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
            throw APIError.badRequest("Please provide a Name for the space.")
        }
        let managers =
            (body["SpaceManagersTeams"]?.arrayValue ?? []) + (body["SpaceManagersTeamMembers"]?.arrayValue ?? [])
        guard !managers.isEmpty else {
            throw APIError.badRequest(
                "A space needs at least one space manager: give SpaceManagersTeams or SpaceManagersTeamMembers."
            )
        }
        var document = body
        document["Links"] = nil
        document["IsDefault"] = .bool(false)
        document["TaskQueueStopped"] = body["TaskQueueStopped"] ?? .bool(false)
        let id: String = try store.with { database in
            try database.withTransaction {
                let taken = try database.query("SELECT Id FROM [Space] WHERE Name = ?", [.text(name)])
                guard taken.rows.isEmpty else {
                    throw APIError.badRequest("A space named '\(name)' already exists; choose a different name.")
                }
                let id = try StandInStore.nextId(database, table: "Space", prefix: "Spaces")
                document["Id"] = .string(id)
                document["Name"] = .string(name)
                try database.run(
                    "INSERT INTO [Space] ([Id], [Name], [IsDefault], [JSON]) VALUES (?, ?, 0, ?)",
                    [.text(id), .text(name), .text(JSONValue.object(document).serialized())]
                )
                try StandInEvents.record(
                    database,
                    category: "Created",
                    spaceId: id,
                    message: "Space \(name) (\(id)) was created",
                    related: [id],
                    actor: context.user.actor
                )
                return id
            }
        }
        log.info("\(context.user.name) created space \(id) (\(name)).")
        guard let row = try store.row("Space", id: id, space: nil) else { throw APIError.notFound(id) }
        return .json(201, try resource(.spaces, row))
    }
}
