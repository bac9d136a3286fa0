import Foundation
import Wire

/// The collections octoprov reads per space (octopus-facts.md §4.2).
public enum OctopusCollection: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Deployment targets.
    case machines
    /// Workers (2018.7 and later).
    case workers
    /// Project triggers (deployment and runbook triggers).
    case projectTriggers = "projecttriggers"
    /// Subscriptions (webhooks, email).
    case subscriptions
    /// Projects.
    case projects
    /// Environments.
    case environments

    /// The path segment, such as `projecttriggers`.
    public var description: String { rawValue }
}

/// Where a collection lives: in a space (`/api/Spaces-1/machines`, 2019.1 and later) or, before spaces, at the
/// top (`/api/machines`).
public enum OctopusScope: Sendable, Hashable, CustomStringConvertible {
    /// A space, by its Id.
    case space(String)
    /// No space: a server before 2019.1.
    case unscoped

    /// The collection's path in this scope.
    ///
    /// - Parameter collection: The collection.
    /// - Returns: Such as `/api/Spaces-1/machines`.
    public func path(_ collection: OctopusCollection) -> String {
        switch self {
        case .space(let id): "/api/\(id)/\(collection.rawValue)"
        case .unscoped: "/api/\(collection.rawValue)"
        }
    }

    /// The space's Id, or `(no spaces)`.
    public var description: String {
        switch self {
        case .space(let id): id
        case .unscoped: "(no spaces)"
        }
    }
}

extension OctopusClient {
    /// `GET /api` (anonymous): version, Installation ID and links.
    public func root() async throws(OctopusAPIError) -> OctopusRoot {
        try await get(OctopusRoot.self, "/api")
    }

    /// `GET /api/spaces/all`: every space (2019.1 and later).
    public func spaces() async throws(OctopusAPIError) -> [OctopusSpace] {
        try await get([OctopusSpace].self, "/api/spaces/all")
    }

    /// The scopes to read collections in: every space when the server has spaces, else `.unscoped`.
    ///
    /// - Parameter spacesExist: Whether the server has spaces (2019.1 and later); `nil` asks the root (its
    ///   `Links` name `Spaces` from 2019.1).
    /// - Returns: The scopes, spaces in the server's order.
    public func scopes(spacesExist: Bool? = nil) async throws(OctopusAPIError) -> [OctopusScope] {
        let hasSpaces: Bool
        if let spacesExist {
            hasSpaces = spacesExist
        } else {
            hasSpaces = try await root().hasSpaces
        }
        guard hasSpaces else { return [.unscoped] }
        return try await spaces().map { .space($0.id) }
    }

    /// Every resource of `collection` in `scope`, following the pages.
    ///
    /// - Parameters:
    ///   - collection: The collection.
    ///   - scope: A space, or `.unscoped` before 2019.1.
    ///   - query: Filters such as `("isDisabled", "false")`.
    /// - Returns: The resources.
    public func list(
        _ collection: OctopusCollection,
        in scope: OctopusScope,
        query: [(name: String, value: String)] = []
    ) async throws(OctopusAPIError) -> [OctopusResource] {
        try await all(OctopusResource.self, scope.path(collection), query: query)
    }

    /// `GET /api/serverstatus/health`.
    public func health() async throws(OctopusAPIError) -> OctopusServerHealth {
        try await get(OctopusServerHealth.self, "/api/serverstatus/health")
    }

    /// `GET /api/serverconfiguration`: the Server URI.
    public func serverConfiguration() async throws(OctopusAPIError) -> OctopusServerConfiguration {
        try await get(OctopusServerConfiguration.self, "/api/serverconfiguration")
    }

    /// `GET /api/tasks/{id}` (or `/api/{spaceId}/tasks/{id}` with a space).
    ///
    /// - Parameters:
    ///   - id: The task's Id, such as `ServerTasks-12`.
    ///   - scope: Its space; `nil` or `.unscoped` for the unscoped path.
    /// - Returns: The task.
    public func task(_ id: String, in scope: OctopusScope? = nil) async throws(OctopusAPIError) -> OctopusTask {
        switch scope {
        case .space(let space): try await get(OctopusTask.self, "/api/\(space)/tasks/\(id)")
        default: try await get(OctopusTask.self, "/api/tasks/\(id)")
        }
    }

    /// Polls a task until it completes (Octopus's docs poll every 5 s).
    ///
    /// - Parameters:
    ///   - id: The task's Id.
    ///   - scope: Its space, if any.
    ///   - timeout: How long to wait.
    ///   - interval: The pause between polls.
    /// - Returns: The completed task (check ``OctopusTask/finishedSuccessfully``).
    /// - Throws: `.timedOut` naming the task's last state when it is still running after `timeout`.
    public func waitForTask(
        _ id: String,
        in scope: OctopusScope? = nil,
        timeout: Duration,
        interval: Duration = .seconds(5)
    ) async throws(OctopusAPIError) -> OctopusTask {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let task = try await task(id, in: scope)
            if task.isCompleted { return task }
            guard clock.now.advanced(by: interval) < deadline else {
                // Only names the request in the message; an id no request can carry is named as it is.
                let path = (try? target("GET", "/api/tasks/\(id)", query: [])) ?? id
                throw failure(
                    .timedOut,
                    "GET",
                    path,
                    "still reports task \(id) \(task.state) after \(Self.seconds(timeout)) s"
                )
            }
            try await pause(interval, "GET", "/api/tasks/\(id)")
        }
    }

    /// `GET /api/octopusservernodes/ping` (anonymous): 200 ready, 418 draining; any other status is an error.
    public func ping() async throws(OctopusAPIError) -> OctopusNodePing {
        let path = "/api/octopusservernodes/ping"
        let response = try await send("GET", path)
        guard response.status == 200 || response.status == 418 else {
            throw statusError(response, "GET", shownTarget("GET", path))
        }
        // The status is the answer; a body that is not JSON only leaves the node's name unknown.
        let document = (try? JSONValueDecoding.decode(response.body)) ?? .null
        return OctopusNodePing(
            status: response.status,
            nodeName: document.member("Name")?.stringValue,
            document: document
        )
    }

    /// Pings until the node answers 200, for a service that was just started.
    ///
    /// - Parameters:
    ///   - timeout: How long to wait in all.
    ///   - interval: The pause between pings.
    /// - Returns: The ready ping.
    /// - Throws: After `timeout`, `.timedOut` with the last reason (nothing listening, draining, an HTTP error).
    public func waitUntilReady(
        timeout: Duration,
        interval: Duration = .seconds(1)
    ) async throws(OctopusAPIError) -> OctopusNodePing {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let path = "/api/octopusservernodes/ping"
        var quick = self
        quick.options.retryDeadline = .zero
        while true {
            var reason: String
            do {
                let ping = try await quick.ping()
                if ping.isReady { return ping }
                reason = "the node is draining (HTTP 418)"
            } catch {
                if error.code == .cancelled || error.code == .invalidRequest { throw error }
                reason = Self.withoutFinalPeriod(error.message)
            }
            guard clock.now.advanced(by: interval) < deadline else {
                throw failure(
                    .timedOut,
                    "GET",
                    shownTarget("GET", path),
                    "was not ready within \(Self.seconds(timeout)) s; last: \(reason)"
                )
            }
            try await pause(interval, "GET", path)
        }
    }

    private func pause(_ duration: Duration, _ method: String, _ path: String) async throws(OctopusAPIError) {
        do {
            try await Task.sleep(for: duration)
        } catch {
            throw failure(.cancelled, method, path, "was cancelled")
        }
    }
}

/// Decodes a body as any JSON value.
enum JSONValueDecoding {
    static func decode(_ body: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(body))
    }
}
