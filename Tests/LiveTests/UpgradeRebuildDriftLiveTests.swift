import Foundation
import Provisioning
import Sandbox
import TestHelpers
import Testing
import Wire

/// Issue 7's acceptance against `octoprov sandbox`, through the built binary: a clone at production's version A
/// upgraded to B and verified there (every check in the JUnit report), a rerun that changes nothing, a downgrade
/// refused before anything changes; then two projects changed on production, which `drift` reports exactly, and a
/// `rebuild` from a fresh backup that leaves no drift.
@Suite("octoprov upgrade, drift and rebuild on a sandbox", .tags(.large))
struct UpgradeRebuildDriftLiveTests {
    @Test func aCloneUpgradesThenDriftsAndARebuildCatchesUp() async throws {
        let sandbox = try await OneVMSandbox("upg")
        defer { sandbox.close() }
        let (base, directory, stateDirectory, layout) = (
            sandbox.base, sandbox.directory, sandbox.stateDirectory, sandbox.layout
        )
        let state = try #require(SandboxState.read(from: layout))
        let versionA = try #require(state.productionVersion)
        let versionB = "2024.1.11892"
        let older = "2020.6.4937"
        let common = ["-i", layout.inventoryPath, "--state-dir", stateDirectory]
        // `rebuild` on a fresh VM: nothing to tear down, then the clone is provisioned.
        let provisioned = try await octoprov(["rebuild"] + common)
        try #require(provisioned.status == 0, "\(provisioned.stdout.suffix(2000))")

        let vm = try #require(state.vms.first)
        let clone = try OctopusClient(
            baseURL: "http://\(vm.address):\(vm.webPort ?? 8080)",
            apiKey: try Self.apiKey(stateDirectory)
        )
        #expect(try await clone.root().version == versionA)

        // A downgrade is refused before anything connects: the clone still runs A, nothing in its upgrade journal.
        let downgrade = try await octoprov(
            ["upgrade"] + common + ["--to", older, "--sha256", try mirrorPackageSHA256(layout, version: older)]
        )
        #expect(downgrade.status == 64, "\(downgrade.stderr)")
        #expect(
            downgrade.stderr.contains("is older than \(versionA)") && downgrade.stderr.contains("Nothing was changed")
        )
        #expect(try await clone.root().version == versionA)

        // A → B: the path's caveats are printed, every step runs, verify passes at B, and JUnit lists each check.
        let upgradeArguments =
            ["upgrade"] + common + ["--to", versionB, "--sha256", try mirrorPackageSHA256(layout, version: versionB)]
        let upgraded = try await octoprov(
            upgradeArguments + ["--junit", "\(base.path)/upgrade.xml", "--report-json", "\(base.path)/upgrade.json"]
        )
        #expect(upgraded.status == 0, "\(upgraded.stdout.suffix(3000))\n\(upgraded.stderr.suffix(3000))")
        #expect(upgraded.stdout.contains("Instance sandbox-clone: \(versionA) → \(versionB)"))
        #expect(try await clone.root().version == versionB)
        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/upgrade.json")))
        let host = try #require(report.instances.first?.hosts.first)
        #expect(
            host.steps.map(\.name) == [
                "upgrade-preflight", "backup-database", "drain", "install", "upgrade-database", "start", "undrain",
                "verify",
            ]
        )
        // The preflight and verify only read; every step between them changed the clone.
        #expect(host.steps.dropFirst().dropLast().allSatisfy { $0.status == .changed }, "\(host.steps)")
        #expect(host.steps.first?.status == .ok && host.steps.last?.status == .ok)
        #expect(host.checks.count >= 8 && host.checks.allSatisfy { $0.passed }, "\(host.checks)")
        let junit = try String(contentsOfFile: "\(base.path)/upgrade.xml", encoding: .utf8)
        for check in host.checks {
            #expect(junit.contains("name=\"verify: \(check.name)\""), "\(check.name)")
        }
        #expect(junit.contains("failures=\"0\""))

        // A rerun changes nothing.
        let again = try await octoprov(upgradeArguments + ["--report-json", "\(base.path)/again.json"])
        #expect(again.status == 0, "\(again.stdout.suffix(2000))")
        let rerun = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/again.json")))
        let rerunSteps = rerun.instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(!rerunSteps.isEmpty && rerunSteps.allSatisfy { $0.status == .ok }, "\(rerunSteps)")

        // Provisioning an upgraded host again is refused, naming the way forward; nothing changes.
        let reprovision = try await octoprov(["provision"] + common)
        #expect(reprovision.status == 1)
        #expect(
            (reprovision.stdout + reprovision.stderr).contains(
                "`octoprov upgrade` took this host to Octopus \(versionB), not the inventory's \(versionA)"
            ),
            "\(reprovision.stdout.suffix(1500))"
        )
        #expect(try await clone.root().version == versionB)

        // No drift yet: the clone is production's backup, upgraded.
        let calm = try await octoprov(["drift"] + common + ["--fail-above", "0"])
        #expect(calm.status == 0, "\(calm.stdout) \(calm.stderr)")
        #expect(calm.stdout.contains("sandbox-clone/vm1: 0 of "))

        // Two projects change on production: one's deployment process, another gets a release.
        let production = try productionClient(layout, state: state)
        let projects = try await production.list(.projects, in: .space("Spaces-1"))
        let first = try #require(projects.first { $0.name == "Web App 1.1" })
        let second = try #require(projects.first { $0.name == "Web App 1.3" })
        let processPath =
            "/api/Spaces-1/deploymentprocesses/\(try #require(first.document.member("DeploymentProcessId")?.stringValue))"
        guard case .object(var process) = try await production.get(JSONValue.self, processPath),
            case .array(var steps) = process["Steps"] ?? .null, case .object(var step) = steps.first ?? .null
        else {
            Issue.record("The deployment process of Web App 1.1 has no steps")
            return
        }
        step["Name"] = .string("Deploy the new way")
        steps[0] = .object(step)
        process["Steps"] = .array(steps)
        _ = try await production.put(JSONValue.self, processPath, body: .object(process))
        _ = try await production.post(
            JSONValue.self,
            "/api/Spaces-1/releases",
            body: .object(["ProjectId": .string(second.id), "Version": .string("7.0.0")])
        )
        let drifted = try await octoprov(
            ["drift"] + common + ["--fail-above", "1", "--report-json", "\(base.path)/drift.json"]
        )
        #expect(drifted.status == 1, "\(drifted.stdout) \(drifted.stderr)")
        #expect(drifted.stdout.contains("2 of "), "\(drifted.stdout)")
        let driftJSON = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/drift.json"))
        )
        let hosts = try #require(driftJSON as? [[String: Any]])
        let changed = try #require((hosts.first?["drift"] as? [String: Any])?["projects"] as? [[String: Any]])
        #expect(changed.compactMap { $0["project"] as? String } == ["Default/Web App 1.1", "Default/Web App 1.3"])
        #expect(
            changed.map { ($0["details"] as? [String]) ?? [] } == [
                ["deployment process version 1 → 2"], ["new release(s) 7.0.0"],
            ]
        )

        // Production's nightly backup, then rebuild: the clone is production's version again, with no drift.
        let backup = try await octoprov(["sandbox", "backup", "--dir", directory])
        #expect(backup.status == 0, "\(backup.stderr)")
        // Until the rebuild, the upgraded clone is what it was: the upgrade's rerun is checked against the backup
        // the clone was made from, not the newer one `backup:` now names, and changes nothing.
        let afterBackup = try await octoprov(upgradeArguments + ["--report-json", "\(base.path)/after-backup.json"])
        #expect(afterBackup.status == 0, "\(afterBackup.stdout.suffix(2000))")
        #expect(afterBackup.stderr.contains("the clone was restored from another backup"), "\(afterBackup.stderr)")
        let afterBackupSteps = try ProvisionReport(
            json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/after-backup.json"))
        ).instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(
            !afterBackupSteps.isEmpty && afterBackupSteps.allSatisfy { $0.status == .ok },
            "\(afterBackupSteps)"
        )
        let rebuilt = try await octoprov(["rebuild"] + common + ["--report-json", "\(base.path)/rebuild.json"])
        #expect(rebuilt.status == 0, "\(rebuilt.stdout.suffix(3000))")
        let rebuildReport = try ProvisionReport(
            json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/rebuild.json"))
        )
        let rebuiltHost = try #require(rebuildReport.instances.first?.hosts.first)
        #expect(rebuiltHost.steps.first { $0.name == "restore" }?.status == .changed)
        #expect(rebuiltHost.steps.first { $0.name == "quarantine" }?.status == .changed)
        #expect(rebuiltHost.checks.allSatisfy { $0.passed }, "\(rebuiltHost.checks)")
        #expect(try await clone.root().version == versionA)
        let caughtUp = try await octoprov(["drift"] + common + ["--fail-above", "0"])
        #expect(caughtUp.status == 0, "\(caughtUp.stdout) \(caughtUp.stderr)")
        #expect(caughtUp.stdout.contains("sandbox-clone/vm1: 0 of "), "\(caughtUp.stdout)")

        // The rebuild kept the server folders, so its copy sent nothing; without them, everything is sent again.
        #expect(rebuiltHost.steps.first { $0.name == "copy-folders" }?.status == .ok, "\(rebuiltHost.steps)")
        let fresh = try await octoprov(
            ["rebuild"] + common + ["--no-keep-folders", "--report-json", "\(base.path)/fresh.json"]
        )
        #expect(fresh.status == 0, "\(fresh.stdout.suffix(2000))")
        #expect(fresh.stdout.contains("vm1: removed 5 server folder(s)."), "\(fresh.stdout.suffix(2000))")
        let freshReport = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/fresh.json")))
        let freshCopy = try #require(
            freshReport.instances.first?.hosts.first?.steps.first { $0.name == "copy-folders" }
        )
        #expect(freshCopy.status == .changed, "\(freshCopy)")

        // Another nightly backup: `verify` still checks the clone against the backup it was made from, and says so.
        let nextBackup = try await octoprov(["sandbox", "backup", "--dir", directory])
        #expect(nextBackup.status == 0, "\(nextBackup.stderr)")
        let verified = try await octoprov(["verify"] + common)
        #expect(verified.status == 0, "\(verified.stdout.suffix(2000))")
        #expect(verified.stderr.contains("`octoprov rebuild` makes it again from the new one."), "\(verified.stderr)")
    }

    /// `upgrade` killed (SIGKILL) as its install starts, with the service stopped and the node drained, then run
    /// again: what finished is not done again (no second pre-upgrade backup), the rest runs, and the clone ends at
    /// the target, verified; a third run changes nothing.
    @Test func anUpgradeKilledDuringItsInstallResumes() async throws {
        let sandbox = try await OneVMSandbox("upk")
        defer { sandbox.close() }
        let (base, stateDirectory, layout) = (sandbox.base, sandbox.stateDirectory, sandbox.layout)
        let state = try #require(SandboxState.read(from: layout))
        let vm = try #require(state.vms.first)
        let common = ["-i", layout.inventoryPath, "--state-dir", stateDirectory]
        let provisioned = try await octoprov(["provision"] + common)
        try #require(provisioned.status == 0, "\(provisioned.stderr.suffix(2000))")

        let versionB = "2024.1.11892"
        let arguments =
            ["upgrade"] + common + ["--to", versionB, "--sha256", try mirrorPackageSHA256(layout, version: versionB)]
        let killed = try await offPool {
            try runOctoprovKilled(arguments, when: { $0.hasPrefix("vm1 [04 install] ") })
        }
        #expect(killed, "octoprov was not seen starting the install")

        let resumed = try await octoprov(arguments + ["--report-json", "\(base.path)/resumed.json"])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(3000))")
        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/resumed.json")))
        let steps = report.instances.flatMap(\.hosts).flatMap(\.steps)
        let status = Dictionary(steps.map { ($0.name, $0.status) }, uniquingKeysWith: { first, _ in first })
        // The backup and the drain finished before the kill: recorded, not repeated.
        #expect(status["backup-database"] == .ok && status["drain"] == .ok, "\(steps)")
        for step in ["upgrade-database", "start", "undrain"] {
            #expect(status[step] == .changed, "\(step): \(steps)")
        }
        #expect(status["verify"] == .ok, "\(steps)")
        let clone = try OctopusClient(
            baseURL: "http://\(vm.address):\(vm.webPort ?? 8080)",
            apiKey: try Self.apiKey(stateDirectory)
        )
        #expect(try await clone.root().version == versionB)

        let again = try await octoprov(arguments + ["--report-json", "\(base.path)/again.json"])
        #expect(again.status == 0, "\(again.stderr.suffix(2000))")
        let rerun = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/again.json")))
        let rerunSteps = rerun.instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(!rerunSteps.isEmpty && rerunSteps.allSatisfy { $0.status == .ok }, "\(rerunSteps)")
    }

    /// `rebuild` killed (SIGKILL) while its teardown stops the service (issue 17): the journal and the host's
    /// record of finished steps were cleared before the teardown changed anything, so `provision`, the documented
    /// way to resume, builds the clone again and ends verified instead of trusting a half-torn host.
    @Test func aRebuildKilledDuringItsTeardownIsHealedByProvision() async throws {
        let sandbox = try await OneVMSandbox("rbk")
        defer { sandbox.close() }
        let (base, stateDirectory, layout) = (sandbox.base, sandbox.stateDirectory, sandbox.layout)
        let common = ["-i", layout.inventoryPath, "--state-dir", stateDirectory]
        let provisioned = try await octoprov(["provision"] + common)
        try #require(provisioned.status == 0, "\(provisioned.stderr.suffix(2000))")

        let killed = try await offPool {
            try runOctoprovKilled(["rebuild"] + common, when: { $0.contains("Stopping and uninstalling the service.") })
        }
        #expect(killed, "octoprov was not seen stopping the service")

        let healed = try await octoprov(["provision"] + common + ["--report-json", "\(base.path)/healed.json"])
        #expect(healed.status == 0, "\(healed.stderr.suffix(3000))")
        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/healed.json")))
        let steps = report.instances.flatMap(\.hosts).flatMap(\.steps)
        // Every step ran again on the host (none was trusted from the first provision's records), and the clone
        // ends verified, still quarantined.
        #expect(steps.count == 14, "\(steps)")
        for step in steps where step.name != "report" {
            #expect(step.status != .failed, "\(step.name): \(step.message ?? "")")
            #expect(
                step.message?.hasPrefix("Done in an earlier run") == false,
                "\(step.name) was skipped: \(step.message ?? "")"
            )
        }
        #expect(steps.last { $0.name == "verify" }?.status == .ok, "\(steps)")
        #expect(SandboxControl.contacts(layout).filter { !$0.fromProduction }.isEmpty)
    }

    /// A fresh one-VM sandbox and a state folder in a temporary folder of the test's own; ``close()`` stops the
    /// sandbox and removes the folder.
    struct OneVMSandbox {
        let base: URL
        let layout: SandboxLayout
        var directory: String { layout.directory }
        var stateDirectory: String { base.appendingPathComponent("state").path }

        init(_ name: String) async throws {
            base = FileManager.default.temporaryDirectory.appendingPathComponent(
                "octoprov-\(name)-\(UUID().uuidString)"
            )
            layout = SandboxLayout(directory: base.appendingPathComponent("sbx").path)
            let up = try await octoprov(["sandbox", "up", "--vms", "1", "--dir", layout.directory])
            if up.status != 0 { close() }
            try #require(up.status == 0, "\(up.stderr)")
        }

        func close() {
            _ = try? SandboxControl.down(layout)
            try? FileManager.default.removeItem(at: base)
        }
    }

    /// The API key octoprov generated for the sandbox clone (the journal's secret file).
    static func apiKey(_ stateDirectory: String) throws -> String {
        try TestInstanceLiveTests.apiKey(stateDirectory, instance: "sandbox-clone")
    }
}
