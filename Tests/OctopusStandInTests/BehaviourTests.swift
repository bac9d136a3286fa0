import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// "Production" as a clone's database remembers it, pointing at listeners the test owns: a Tentacle for
/// the target, one for the worker, and a webhook receiver. The rows follow docs/standin-api.md's seed
/// contract.
struct Production {
    let target: ProductionListener
    let worker: ProductionListener
    let webhook: ProductionListener

    init() throws {
        target = try ProductionListener()
        worker = try ProductionListener()
        webhook = try ProductionListener()
    }

    var all: [ProductionListener] { [target, worker, webhook] }
    var counts: [Int] { all.map(\.contacts.count) }

    func seed(_ database: SQLiteDatabase) throws {
        try APIFixture.insert(
            database,
            "Environment",
            ["Id": "Environments-1", "Name": "Production", "SpaceId": "Spaces-1"],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "Project",
            ["Id": "Projects-1", "Name": "Web", "SpaceId": "Spaces-1", "IsDisabled": 0],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "Release",
            ["Id": "Releases-1", "SpaceId": "Spaces-1", "ProjectId": "Projects-1", "Version": "1.0.0"],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "Machine",
            ["Id": "Machines-1", "Name": "web1", "SpaceId": "Spaces-1", "IsDisabled": 0],
            json: [
                "Endpoint": JSONValue.object([
                    ("CommunicationStyle", .string("TentaclePassive")),
                    ("Uri", .string("https://127.0.0.1:\(target.port)/")), ("Thumbprint", .string("A1B2C3")),
                ]),
                "EnvironmentIds": ["Environments-1"], "Roles": ["web"], "IsDisabled": false,
            ]
        )
        try APIFixture.insert(
            database,
            "Worker",
            ["Id": "Workers-1", "Name": "w1", "SpaceId": "Spaces-1", "IsDisabled": 0],
            json: [
                "Endpoint": JSONValue.object([
                    ("CommunicationStyle", .string("TentaclePassive")),
                    ("Uri", .string("https://127.0.0.1:\(worker.port)/")),
                ]),
                "WorkerPoolIds": ["WorkerPools-1"],
            ]
        )
        try APIFixture.insert(
            database,
            "ProjectTrigger",
            [
                "Id": "ProjectTriggers-1", "Name": "nightly", "SpaceId": "Spaces-1", "ProjectId": "Projects-1",
                "IsDisabled": 0,
            ],
            json: [
                "Filter": JSONValue.object([
                    ("FilterType", .string("OnceDailySchedule")),
                    ("StartTime", .string("2026-01-01T02:00:00.000+00:00")),
                    ("DaysOfWeek", .array([.string("Monday"), .string("Tuesday")])), ("Timezone", .string("UTC")),
                ]),
                "Action": JSONValue.object([
                    ("ActionType", .string("DeployLatestRelease")), ("SourceEnvironmentIds", .array([])),
                    ("DestinationEnvironmentId", .string("Environments-1")),
                    ("ShouldRedeployWhenReleaseIsCurrent", .bool(true)),
                ]),
            ]
        )
        try APIFixture.insert(
            database,
            "Subscription",
            ["Id": "Subscriptions-1", "Name": "deployments to chat", "SpaceId": "Spaces-1", "IsDisabled": 0],
            json: [
                "Type": "Event",
                "EventNotificationSubscription": JSONValue.object([
                    ("Filter", .object([("EventCategories", .array([])), ("Projects", .array([]))])),
                    ("WebhookURI", .string("http://127.0.0.1:\(webhook.port)/octopus-events")),
                    ("WebhookTimeout", .string("00:00:10")), ("WebhookHeaderKey", .string("X-Hook")),
                    ("WebhookHeaderValue", .string("from-octopus")), ("WebhookLastProcessedEventAutoId", .integer(0)),
                ]),
            ]
        )
        try APIFixture.insert(
            database,
            "Event",
            [
                "Id": "Events-1", "SpaceId": "Spaces-1", "Category": "DeploymentSucceeded",
                "Occurred": "2026-11-23T22:00:00.000+00:00",
            ],
            json: [
                "Category": "DeploymentSucceeded", "Message": "Deploy to Production succeeded",
                "RelatedDocumentIds": ["Projects-1"],
            ]
        )
        try APIFixture.insert(
            database,
            "Deployment",
            [
                "Id": "Deployments-1", "SpaceId": "Spaces-1", "ReleaseId": "Releases-1",
                "EnvironmentId": "Environments-1", "TaskId": "ServerTasks-1",
            ],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "ServerTask",
            [
                "Id": "ServerTasks-1", "Name": "Deploy", "SpaceId": "Spaces-1", "State": "Queued",
                "QueueTime": "2026-11-23T23:00:00.000+00:00",
            ],
            json: [
                "Description": "Deploy Web release 1.0.0 to Production",
                "Arguments": JSONValue.object([("DeploymentId", .string("Deployments-1"))]),
            ]
        )
        try APIFixture.insert(
            database,
            "OctopusServerNode",
            ["Id": "OctopusServerNodes-PROD1", "Name": "PROD1"],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "OctopusServerNodeStatus",
            ["Id": "OctopusServerNodes-PROD1", "LastSeen": "2026-11-23"],
            json: [:]
        )
        try APIFixture.insert(
            database,
            "ExtensionConfiguration",
            ["Id": "jira-integration", "Name": "Jira"],
            json: [:]
        )
    }
}

@Suite(.tags(.medium))
struct BehaviourTests {
    /// Lines the stand-in sent to a listener (`OCTOPUS-STANDIN <purpose> <ids>`), and HTTP request bodies.
    static func lines(_ listener: ProductionListener) -> [String] {
        listener.contacts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static func body(_ request: String) throws -> JSONValue {
        let start = try #require(request.range(of: "\r\n\r\n"))
        return try JSONValue(parsing: String(request[start.upperBound...]))
    }

    @Test func aCloneStartedWithoutQuarantineReachesProductionAndTheDocsSQLStopsIt() async throws {
        let production = try Production()
        let fixture = try APIFixture(ownNode: .none, seed: production.seed)

        // 1. Started as restored: everything enabled.
        try fixture.start()
        let contacted = try await APIFixture.eventually(timeout: 20) {
            let target = Self.lines(production.target)
            return target.contains("OCTOPUS-STANDIN health-check Machines-1")
                && target.contains("OCTOPUS-STANDIN deploy ServerTasks-1 Machines-1")
                && target.contains { $0.hasPrefix("OCTOPUS-STANDIN deploy ") && !$0.contains("ServerTasks-1 ") }
                && Self.lines(production.worker).contains("OCTOPUS-STANDIN health-check Workers-1")
                && production.webhook.contacts.contains { $0.contains("Events-1") }
        }
        #expect(
            contacted,
            "target: \(production.target.contacts), worker: \(production.worker.contacts), webhook: \(production.webhook.contacts.count)"
        )
        fixture.stop()

        // What the trigger did: a deployment task of its own, run against the target.
        let triggered = try fixture.column(
            "SELECT Id FROM ServerTask WHERE json_extract(JSON, '$.Arguments.TriggerId') = 'ProjectTriggers-1'"
        )
        #expect(!triggered.isEmpty)
        #expect(try fixture.column("SELECT State FROM ServerTask WHERE Id = 'ServerTasks-1'") == ["Success"])
        let log = try String(contentsOfFile: "\(fixture.home)/TaskLogs/servertasks-1.log.txt", encoding: .utf8)
        #expect(log.contains("Contacting web1 (Machines-1) at 127.0.0.1:\(production.target.port)"))
        // The webhook: Octopus's payload, the subscription's header, and the watermark moved on.
        let delivery = try #require(production.webhook.contacts.first { $0.contains("Events-1") })
        #expect(delivery.hasPrefix("POST /octopus-events HTTP/1.1\r\n"))
        #expect(delivery.contains("X-Hook: from-octopus\r\n"))
        let payload = try Self.body(delivery)
        #expect(payload["EventType"] == .string("SubscriptionPayload"))
        #expect(payload["Payload"]?["ServerUri"] == .string(APIFixture.productionServerUri))
        #expect(payload["Payload"]?["Subscription"]?["Id"] == .string("Subscriptions-1"))
        #expect(payload["Payload"]?["Event"]?["Category"] == .string("DeploymentSucceeded"))
        let watermark = try fixture.column(
            "SELECT json_extract(JSON, '$.EventNotificationSubscription.WebhookLastProcessedEventAutoId') FROM Subscription"
        )
        #expect(Int(watermark.first ?? "") ?? 0 >= 1)
        #expect(try fixture.column("SELECT json_extract(JSON, '$.HealthStatus') FROM Machine") == ["Healthy"])

        // 2. The docs' SQL, verbatim, through the stand-in's sqlcmd; and a task production had queued.
        let options = try SqlcmdOptions.parse([
            "-S", "localhost", "-E", "-b", "-i", fixturePath("disable-everything.sql"),
        ])
        var output: [String] = []
        let status = Sqlcmd(options: options, dataFolder: fixture.dataFolder).run { output.append($0) }
        #expect(status == 0, "\(output)")
        try APIFixture.insert(
            fixture.open(),
            "ServerTask",
            [
                "Id": "ServerTasks-900", "Name": "Deploy", "SpaceId": "Spaces-1", "State": "Queued",
                "QueueTime": "2026-11-24T01:00:00.000+00:00",
            ],
            json: ["Arguments": JSONValue.object([("EnvironmentId", .string("Environments-1"))])]
        )
        let before = production.counts
        let tasksBefore = try fixture.column("SELECT COUNT(*) FROM ServerTask")

        // 3. Started again: several ticks, trigger rounds and health-check rounds, and not one contact.
        try fixture.start()
        let finished = try await APIFixture.eventually(timeout: 20) {
            try fixture.column("SELECT State FROM ServerTask WHERE Id = 'ServerTasks-900'") == ["Failed"]
        }
        #expect(finished)
        try await APIFixture.pause(3)
        fixture.stop()
        #expect(production.counts == before, "contacts after quarantine: \(production.all.map(\.contacts))")
        let error = try fixture.column(
            "SELECT json_extract(JSON, '$.ErrorMessage') FROM ServerTask WHERE Id = 'ServerTasks-900'"
        )
        #expect(error.first?.contains("no enabled deployment targets") == true)
        // The trigger queued nothing new: the only new task is the one the test queued.
        #expect(try fixture.column("SELECT COUNT(*) FROM ServerTask") == tasksBefore)
        let taskLog = try String(contentsOfFile: "\(fixture.home)/TaskLogs/servertasks-900.log.txt", encoding: .utf8)
        #expect(taskLog.contains("1 disabled deployment target(s) in Environments-1 are skipped, never contacted."))

        // 4. The audit: what was enabled at each start.
        let audit = try fixture.auditLines()
        try #require(audit.count == 2)
        for (key, value) in [
            ("ServerNodes", 1), ("OtherServerNodes", 1), ("EnabledTargets", 1), ("EnabledWorkers", 1),
            ("EnabledTriggers", 1),
            ("EnabledSubscriptions", 1), ("QueuedTasks", 1),
        ] {
            #expect(audit[0][key] == .integer(Int64(value)), "first start \(key)")
        }
        for key in [
            "ServerNodes", "OtherServerNodes", "EnabledTargets", "EnabledWorkers", "EnabledTriggers",
            "EnabledSubscriptions",
        ] {
            #expect(audit[1][key] == .integer(0), "second start \(key)")
        }
        #expect((audit[1]["QueuedTasks"]?.integerValue ?? 0) >= 1)
        for line in audit {
            #expect(line["Instance"] == .string("OctopusServer"))
            #expect(line["Node"] == .string(APIFixture.node))
            #expect(line["Version"] == .string(fixture.version))
            #expect(line["InstallationId"] == .string(APIFixture.installationID))
            #expect(line["ServerUri"] == .string(APIFixture.productionServerUri))
            #expect(line["Time"]?.stringValue?.isEmpty == false)
        }
        // The node registered itself at each start (the docs' SQL deleted every node row in between).
        #expect(try fixture.column("SELECT Name FROM OctopusServerNode") == [APIFixture.node])
        #expect(fixture.serverLog().contains("start audit"))
    }

    @Test func aDrainingNodeRunsNoTasksUntilItIsUndrained() async throws {
        let production = try Production()
        let fixture = try APIFixture(ownNode: .draining, seed: production.seed)
        try fixture.start()
        // Triggers still queue deployments while the node drains; nothing is run or health-checked.
        let queued = try await APIFixture.eventually(timeout: 20) {
            try !fixture.column("SELECT Id FROM ServerTask WHERE State = 'Queued' AND Id <> 'ServerTasks-1'").isEmpty
        }
        #expect(queued)
        try await APIFixture.pause(1)
        #expect(production.target.contacts.isEmpty && production.worker.contacts.isEmpty)
        #expect(try fixture.column("SELECT State FROM ServerTask WHERE Id = 'ServerTasks-1'") == ["Queued"])
        try fixture.open().run(
            "UPDATE OctopusServerNode SET IsInMaintenanceMode = 0 WHERE Name = ?",
            [.text(APIFixture.node)]
        )
        let ran = try await APIFixture.eventually(timeout: 20) {
            try fixture.column("SELECT State FROM ServerTask WHERE Id = 'ServerTasks-1'") == ["Success"]
        }
        #expect(ran)
        #expect(Self.lines(production.target).contains("OCTOPUS-STANDIN deploy ServerTasks-1 Machines-1"))
    }

    @Test func onlyLoopbackAddressesAreEverContacted() async throws {
        let fixture = try APIFixture(ownNode: .online) { database in
            try APIFixture.insert(
                database,
                "Machine",
                ["Id": "Machines-1", "Name": "real-prod", "SpaceId": "Spaces-1", "IsDisabled": 0],
                json: [
                    "Endpoint": JSONValue.object([("Uri", .string("https://192.0.2.10:10933/"))]),
                    "EnvironmentIds": ["Environments-1"],
                ]
            )
            try APIFixture.insert(
                database,
                "Machine",
                ["Id": "Machines-2", "Name": "polling", "SpaceId": "Spaces-1", "IsDisabled": 0],
                json: [
                    "Endpoint": JSONValue.object([("Uri", .string("poll://abcdef123/"))]), "HealthStatus": "Unknown",
                ]
            )
        }
        try fixture.start()
        let checked = try await APIFixture.eventually(timeout: 20) {
            try fixture.column("SELECT json_extract(JSON, '$.HealthStatus') FROM Machine WHERE Id = 'Machines-1'") == [
                "Unavailable"
            ]
        }
        #expect(checked)
        let summary = try fixture.column(
            "SELECT json_extract(JSON, '$.StatusSummary') FROM Machine WHERE Id = 'Machines-1'"
        )
        #expect(summary.first?.contains("only contacts 127.0.0.0/8") == true)
        #expect(
            try fixture.column("SELECT json_extract(JSON, '$.HealthStatus') FROM Machine WHERE Id = 'Machines-2'") == [
                "Unknown"
            ]
        )
    }

    @Test func aSubscriptionOnlyHearsTheCategoriesItsFilterNames() async throws {
        let webhook = try ProductionListener()
        let fixture = try APIFixture(ownNode: .online) { database in
            try APIFixture.insert(
                database,
                "Subscription",
                ["Id": "Subscriptions-1", "Name": "failures", "SpaceId": "Spaces-1", "IsDisabled": 0],
                json: [
                    "EventNotificationSubscription": JSONValue.object([
                        ("Filter", .object([("EventCategories", .array([.string("DeploymentFailed")]))])),
                        ("WebhookURI", .string("http://localhost:\(webhook.port)/")),
                        ("WebhookLastProcessedEventAutoId", .integer(0)),
                    ])
                ]
            )
            for (index, category) in ["DeploymentSucceeded", "DeploymentFailed", "Modified"].enumerated() {
                try APIFixture.insert(
                    database,
                    "Event",
                    ["Id": "Events-\(index + 1)", "SpaceId": "Spaces-1", "Category": category],
                    json: ["Category": category]
                )
            }
        }
        try fixture.start()
        #expect(try await APIFixture.eventually(timeout: 20) { !webhook.contacts.isEmpty })
        try await APIFixture.pause(1)
        fixture.stop()
        #expect(webhook.contacts.count == 1)
        let payload = try Self.body(try #require(webhook.contacts.first))
        #expect(payload["Payload"]?["Event"]?["Id"] == .string("Events-2"))
        #expect(payload["Payload"]?["TotalEventsInBatch"] == .integer(1))
    }

    @Test func anUnreachableWebhookIsLoggedAndPassedOver() async throws {
        // A port nothing listens on: connections are refused at once.
        let closed = try RawSocket.listen()
        close(closed.descriptor)
        let fixture = try APIFixture(ownNode: .online) { database in
            try APIFixture.insert(
                database,
                "Subscription",
                ["Id": "Subscriptions-1", "Name": "gone", "SpaceId": "Spaces-1", "IsDisabled": 0],
                json: [
                    "EventNotificationSubscription": JSONValue.object([
                        ("WebhookURI", .string("http://127.0.0.1:\(closed.port)/hook")),
                        ("WebhookLastProcessedEventAutoId", .integer(0)),
                    ])
                ]
            )
            for index in 1...3 {
                try APIFixture.insert(database, "Event", ["Id": "Events-\(index)", "Category": "Modified"], json: [:])
            }
        }
        try fixture.start()
        let watermark =
            "SELECT json_extract(JSON, '$.EventNotificationSubscription.WebhookLastProcessedEventAutoId') FROM Subscription"
        #expect(try await APIFixture.eventually(timeout: 20) { try fixture.column(watermark) == ["3"] })
        fixture.stop()
        let log = fixture.serverLog()
        for index in 1...3 {
            #expect(log.contains("could not post Events-\(index) (Modified) to http://127.0.0.1:\(closed.port)/hook"))
        }
    }
}
