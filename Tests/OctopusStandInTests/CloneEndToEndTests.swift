import Foundation
import OctopusStandIn
import Testing

/// The whole stand-in as a clone meets it, through the real binary only: `seed` a production whose targets and
/// webhooks point at listeners this test owns, RESTORE its `.bak` as a new database with sqlcmd, bring an
/// instance up on it with the Octopus.Server verbs and the production Master Key, and talk to it over HTTP.
/// Unquarantined, the clone reaches "production"; after the docs' SQL (octopus-facts.md §3.3, verbatim but
/// for the database name, as the docs say) it reaches nothing and its start audit shows nothing enabled.
@Suite("A restored clone, unquarantined and quarantined", .serialized)
struct CloneEndToEndTests {
    static let version = "2023.3.13026"
    /// Fast behaviour, so that several ticks fit in a few seconds.
    static let fast = [
        "OCTOPUS_STANDIN_TICK_SECONDS": "0.2", "OCTOPUS_STANDIN_TRIGGER_SECONDS": "0.5",
        "OCTOPUS_STANDIN_HEALTH_CHECK_SECONDS": "0.5", "OCTOPUS_STANDIN_CONNECT_TIMEOUT_SECONDS": "1",
    ]

    @Test func aClonePointedAtProductionContactsItUntilTheDocsSQLRuns() async throws {
        let machine = try StandInMachine()
        let targets = try ProductionListener()
        let webhooks = try ProductionListener()
        defer {
            targets.stop()
            webhooks.stop()
        }
        let out = "\(machine.root)/production"
        let bin = try machine.package(Self.version)
        let seeded = try machine.run(
            "\(bin)/octopus-standin",
            [
                "seed", "--version", Self.version, "--out", out, "--task-logs", "5", "--package-size", "1000",
                "--target-endpoint", "https://127.0.0.1:\(targets.port)/",
                "--webhook-url", "http://127.0.0.1:\(webhooks.port)/octopus-events",
                "--server-uri", "https://octopus.production.example",
            ]
        )
        try #require(seeded.status == 0, "\(seeded.all)")
        let summary = try JSONDecoder().decode(
            SeedSummary.self,
            from: try Data(contentsOf: URL(fileURLWithPath: "\(out)/seed.json"))
        )
        let masterKey = try String(contentsOfFile: "\(out)/master-key", encoding: .utf8)
        let apiKey = try String(contentsOfFile: "\(out)/api-key", encoding: .utf8)

        let restore = try machine.sqlcmd([
            "-S", "localhost", "-b", "-Q",
            """
            RESTORE DATABASE [OctopusClone] FROM DISK = N'\(out)/OctopusDeploy.bak' WITH \
            MOVE N'OctopusDeploy' TO N'\(machine.data)/localhost/OctopusClone.mdf', \
            MOVE N'OctopusDeploy_log' TO N'\(machine.data)/localhost/OctopusClone_log.ldf', REPLACE
            """,
        ])
        try #require(restore.status == 0, "\(restore.all)")
        let port = try StandInMachine.freePort()
        for step in [
            [
                "create-instance", "--instance", "Clone", "--config", machine.configPath("Clone"),
                "--serverNodeName=clone1",
            ],
            [
                "database", "--instance", "Clone", "--connectionString",
                StandInMachine.connectionString("OctopusClone"), "--masterKey", masterKey,
            ],
            ["configure", "--instance", "Clone", "--webListenPrefixes", "http://localhost:\(port)"],
        ] {
            let run = try machine.server(Self.version, step)
            try #require(run.status == 0, "\(step[0]): \(run.all)")
        }

        // 1. Started as restored: production's targets and webhook receiver hear from the clone.
        let unsafe = try machine.server(
            Self.version,
            ["service", "--instance", "Clone", "--install", "--reconfigure", "--start"],
            environment: Self.fast
        )
        try #require(unsafe.status == 0, "\(unsafe.all)")
        let contacted = try await Self.eventually { !targets.contacts.isEmpty && !webhooks.contacts.isEmpty }
        let api = try StandInMachine.get("http://127.0.0.1:\(port)/api/Spaces-1/machines?apikey=\(apiKey)")
        _ = try machine.server(Self.version, ["service", "--instance", "Clone", "--stop"])
        #expect(contacted, "targets: \(targets.contacts.count), webhooks: \(webhooks.contacts.count)")
        #expect(webhooks.contacts.first?.hasPrefix("POST /octopus-events") == true)
        #expect(api.status == 200)
        #expect(api.body.contains("\"TotalResults\":\(summary.targets / max(1, summary.spaces.count))"), "\(api.body)")
        let firstAudit = try #require(try Self.audit(machine).last)
        #expect(firstAudit["EnabledTargets"] as? Int == summary.targets)
        #expect(firstAudit["EnabledTriggers"] as? Int == summary.triggers)
        #expect(firstAudit["EnabledSubscriptions"] as? Int == summary.subscriptions)
        #expect(firstAudit["InstallationId"] as? String == summary.installationId)

        // 2. The docs' SQL and new Installation ID, run by sqlcmd on the clone's database.
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let disable = try String(contentsOf: fixtures.appendingPathComponent("disable-everything.sql"), encoding: .utf8)
            .replacingOccurrences(of: "Use [OctopusDeploy]", with: "Use [OctopusClone]")
        let newId = try String(contentsOf: fixtures.appendingPathComponent("new-installation-id.sql"), encoding: .utf8)
            .replacingOccurrences(of: "DECLARE @dryRun BIT = 1", with: "DECLARE @dryRun BIT = 0")
        try disable.write(toFile: "\(machine.root)/disable.sql", atomically: true, encoding: .utf8)
        try newId.write(toFile: "\(machine.root)/new-id.sql", atomically: true, encoding: .utf8)
        let quarantine = try machine.sqlcmd([
            "-S", "localhost", "-d", "OctopusClone", "-b", "-i", "\(machine.root)/disable.sql", "-i",
            "\(machine.root)/new-id.sql",
        ])
        try #require(quarantine.status == 0, "\(quarantine.all)")

        // 3. Started again: several ticks later nothing more reached production, and the audit shows nothing enabled.
        let targetsBefore = targets.contacts.count
        let webhooksBefore = webhooks.contacts.count
        try machine.whileServing(Self.version, instance: "Clone", environment: Self.fast) {
            Thread.sleep(forTimeInterval: 3)
            let root = try StandInMachine.get("http://127.0.0.1:\(port)/api")
            #expect(root.status == 200)
            #expect(!root.body.contains(summary.installationId))
            let machines = try StandInMachine.get(
                "http://127.0.0.1:\(port)/api/Spaces-1/machines?apikey=\(apiKey)&isDisabled=false"
            )
            #expect(machines.body.contains("\"TotalResults\":0"), "\(machines.body)")
        }
        #expect(targets.contacts.count == targetsBefore)
        #expect(webhooks.contacts.count == webhooksBefore)
        let lastAudit = try #require(try Self.audit(machine).last)
        for key in ["OtherServerNodes", "EnabledTargets", "EnabledWorkers", "EnabledTriggers", "EnabledSubscriptions"] {
            #expect(lastAudit[key] as? Int == 0, "\(key): \(lastAudit[key] ?? "missing")")
        }
        #expect(lastAudit["InstallationId"] as? String != summary.installationId)
    }

    static func audit(_ machine: borrowing StandInMachine) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: "\(machine.root)/Clone/Logs/standin-audit.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func eventually(timeout: Double = 15, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}
