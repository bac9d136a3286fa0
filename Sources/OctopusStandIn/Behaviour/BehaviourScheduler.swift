import Foundation
import Wire

/// The server's own activity, on one thread, every ``StandInServer/Timing/tick`` seconds: what makes a
/// clone that was not quarantined reach "production".
///
/// Each tick, in order: the node's heartbeat; enabled scheduled triggers fire (every
/// ``StandInServer/Timing/triggerInterval``), queuing deployment tasks; queued tasks run (unless this
/// node is draining), a deployment contacting its environment's enabled targets; enabled targets and
/// workers are health-checked (every ``StandInServer/Timing/healthCheckInterval``, unless draining);
/// enabled subscriptions POST the new events to their webhooks. Disabled rows are never contacted.
///
/// `@unchecked Sendable`: `stopping` is guarded by `condition`; everything else is immutable or used
/// only on the scheduler's thread.
final class BehaviourScheduler: @unchecked Sendable {
    let api: OctopusAPI
    let timing: StandInServer.Timing
    var store: StandInStore { api.store }
    var log: StandInServerLog { api.log }
    var runtime: ServerRuntime { api.runtime }
    /// Where outgoing contacts come from (see ``StandInContact/sourceAddress(listenPrefixes:)``).
    var sourceAddress: in_addr? { StandInContact.sourceAddress(listenPrefixes: runtime.listenPrefixes) }

    private let condition = NSCondition()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchGroup()

    init(api: OctopusAPI, timing: StandInServer.Timing) {
        self.api = api
        self.timing = timing
    }

    /// Starts the scheduler's thread; the first tick runs at once.
    func start() {
        finished.enter()
        let thread = Thread { [self] in
            loop()
            finished.leave()
        }
        thread.name = "standin-scheduler"
        self.thread = thread
        thread.start()
    }

    /// Stops after the current step (contacts are bounded by the connect timeout) and waits for the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        _ = finished.wait(timeout: .now() + max(10, timing.connectTimeout * 4 + timing.webhookTimeout))
    }

    /// Whether ``stop()`` was called.
    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    private func loop() {
        var nextTriggers = Date()
        var nextHealthChecks = Date()
        while !isStopping {
            let now = Date()
            step("heartbeat") { try heartbeat() }
            let draining = (try? isDraining()) ?? false
            if now >= nextTriggers {
                step("scheduled triggers") { try fireTriggers() }
                nextTriggers = now.addingTimeInterval(timing.triggerInterval)
            }
            if !draining {
                step("queued tasks") { try runQueuedTasks() }
                if now >= nextHealthChecks {
                    step("health checks") { try healthChecks() }
                    nextHealthChecks = now.addingTimeInterval(timing.healthCheckInterval)
                }
            }
            step("webhooks") { try deliverWebhooks() }
            condition.lock()
            if !stopping { _ = condition.wait(until: now.addingTimeInterval(timing.tick)) }
            condition.unlock()
        }
    }

    /// Runs one kind of work; an error (a busy database, a malformed row) is logged and the tick goes on.
    private func step(_ what: String, _ body: () throws -> Void) {
        guard !isStopping else { return }
        do {
            try body()
        } catch {
            log.error("The stand-in's \(what) failed this tick: \(error)")
        }
    }

    /// Updates this node's `LastSeen`.
    private func heartbeat() throws {
        guard store.hasTable("OctopusServerNode") else { return }
        try store.with { database in
            guard
                let id = try database.query(
                    "SELECT Id FROM OctopusServerNode WHERE Name = ?",
                    [.text(runtime.nodeName)]
                )
                .rows.first?.first?.text
            else { return }
            try StartAudit.heartbeat(database, nodeId: id, now: OctopusTime.timestamp())
        }
    }

    /// Whether this node is draining (`IsInMaintenanceMode` of its row): it then takes no tasks.
    func isDraining() throws -> Bool {
        guard store.hasTable("OctopusServerNode") else { return false }
        return try store.with { database in
            (try database.query(
                "SELECT IsInMaintenanceMode FROM OctopusServerNode WHERE Name = ?",
                [.text(runtime.nodeName)]
            ).rows.first?.first?.integer ?? 0) != 0
        }
    }

    /// Rows of a table as `(Id, columns…, JSON document)`; `nil` when the table does not exist.
    func rows(_ table: String, _ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]]? {
        guard store.hasTable(table) else { return nil }
        return try store.with { database in try database.query(sql, parameters).rows }
    }

    /// Parses a `[JSON]` value into an object (empty when missing or invalid).
    static func document(_ value: SQLValue?) -> JSONValue.Object {
        value?.text.flatMap { try? JSONValue(parsing: $0) }?.objectValue ?? JSONValue.Object()
    }

    /// The string Ids in a member that is a string or an array of strings.
    static func ids(_ value: JSONValue?) -> [String] {
        switch value {
        case .string(let text) where !text.isEmpty: [text]
        case .array(let elements): elements.compactMap(\.stringValue).filter { !$0.isEmpty }
        default: []
        }
    }
}
