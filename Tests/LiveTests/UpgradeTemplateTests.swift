import Foundation
import LoopbackVMs
import Provisioning
import Sandbox
import TestHelpers
import Testing

// The upgrade and teardown flows' Templates/standin scripts, run for real: a clone or a test instance is
// provisioned at one version by the provisioning flow's scripts (StandInStepFlow), then upgraded in place to
// another stand-in package by the upgrade steps (docs/steps.md, "Upgrade and teardown flows"), rendered with
// the upgrade's variables, or torn down and provisioned again. Every Octopus.Server and sqlcmd call the scripts
// make meets the stand-in built from this checkout; the processes run off Swift's cooperative pool.

// `StandInStepFlow` keeps only `let`s, set once in its initializer.
extension StandInStepFlow: @unchecked Sendable {}

/// One run of a step script, as these tests read it.
struct UpgradeScriptRun: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    /// `changed` of the `OCTOPROV-RESULT` line, when the last stdout line is one.
    var changed: Bool?
    var facts: [String: String]
    var all: String { stdout + stderr }
}

extension StandInStepFlow {
    static let fromVersion = "2023.3.13026"
    static let toVersion = "2024.1.11892"

    /// The upgrade's T-SQL files and the teardown's, which octoprov uploads with those steps.
    static let upgradeSQL = [
        "database-exists", "database-version", "database-size", "backup-header", "backup-database", "verify-quarantine",
        "drop-database",
    ]

    /// The flow's variables as `StepVariables.buildForUpgrade` gives them for `toVersion`: the target's version
    /// and package, `from_version` and `upgrade_backup_file`. Builds the target's package into the work folder.
    func upgradeValues(backupName: String = "OctopusClone.pre-upgrade.bak") throws -> [String: String] {
        let work = values["work_dir"] ?? ""
        let package = try #require(
            try StandInPackager.build(
                versions: [Self.toVersion],
                binary: StandInSQLHost.binary,
                into: root + "/mirror-upgrade"
            ).first
        )
        let packageFile = work + "/" + StandInPackager.fileName(version: Self.toVersion)
        try? FileManager.default.removeItem(atPath: packageFile)
        try FileManager.default.copyItem(atPath: package.path, toPath: packageFile)
        var upgraded = values
        upgraded["version"] = Self.toVersion
        upgraded["from_version"] = values["version"] ?? ""
        upgraded["package_file"] = packageFile
        upgraded["package_sha256"] = package.sha256
        upgraded["upgrade_backup_file"] = work + "/" + backupName
        try writeSQL(Self.upgradeSQL, values: upgraded)
        return upgraded
    }

    /// Renders `Templates/sql/<name>.sql` with `values` into the work folder, as octoprov uploads it.
    func writeSQL(_ names: [String], values: [String: String]) throws {
        for name in names {
            try library.sqlTemplate(named: name).render(values).write(
                toFile: "\(values["work_dir"] ?? "")/\(name).sql",
                atomically: true,
                encoding: .utf8
            )
        }
    }

    /// Renders `Templates/standin/<step>.sh` with `values` (the flow's own by default) and runs it with bash off
    /// the cooperative pool, the flow's secrets on stdin.
    func script(_ step: String, values: [String: String]? = nil) async throws -> UpgradeScriptRun {
        let script = try library.template(platform: "standin", step: step).render(values ?? self.values)
        let folder = "\(root)/scripts"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/\(step).sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let input = secrets.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Data($0.value.utf8).base64EncodedString())\n" }.joined()
        let output = try await offPool {
            try StandInStepFlow.run("/bin/bash", [path], environment: [:], input: Data(input.utf8))
        }
        var run = UpgradeScriptRun(status: output.status, stdout: output.stdout, stderr: output.stderr, facts: [:])
        let last = output.stdout.split(separator: "\n").last ?? ""
        if last.hasPrefix("OCTOPROV-RESULT "),
            let object = try JSONSerialization.jsonObject(with: Data(last.dropFirst(16).utf8)) as? [String: Any]
        {
            run.changed = object["changed"] as? Bool
            run.facts = object["facts"] as? [String: String] ?? [:]
        }
        return run
    }

    /// Runs a program of the installed stand-in (`Octopus.Server`, `sqlcmd`) with the flow's data folder.
    func standIn(_ program: String, _ arguments: [String]) async throws -> ProcessOutput {
        let executable = (values["install_dir"] ?? "") + "/current/bin/" + program
        let data = values["sql_data_root"] ?? ""
        return try await offPool {
            try StandInStepFlow.run(executable, arguments, environment: ["OCTOPUS_STANDIN_DATA": data], input: Data())
        }
    }

    /// The `name|value` answers of a T-SQL file of the work folder, run as the scripts run it.
    func sql(_ name: String) async throws -> [String: String] {
        let file = "\(values["work_dir"] ?? "")/\(name).sql"
        let output = try await standIn(
            "sqlcmd",
            ["-x", "-b", "-S", "localhost", "-h", "-1", "-W", "-s", "|", "-i", file]
        )
        try #require(output.status == 0, "\(name).sql: \(output.stdout)\(output.stderr)")
        return StandInSQLHost.answers(output.stdout)
    }

    /// The running server's `Version` from `GET /api`, or `nil` when nothing answers.
    func apiVersion() async throws -> String? {
        let url = "http://localhost:\(port)/api"
        let output = try await offPool {
            try StandInStepFlow.run(
                "/usr/bin/env",
                ["curl", "--silent", "--max-time", "5", "--", url],
                environment: [:],
                input: Data()
            )
        }
        guard output.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        else { return nil }
        return object["Version"] as? String
    }

    /// Runs the steps in order; each must succeed and report `changed` as `expected` says.
    func runSteps(
        _ steps: [String],
        values: [String: String]? = nil,
        expected: (String) -> Bool,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> [String: UpgradeScriptRun] {
        var runs: [String: UpgradeScriptRun] = [:]
        for step in steps {
            let run = try await script(step, values: values)
            try #require(run.status == 0, "\(step): \(run.all)", sourceLocation: sourceLocation)
            #expect(run.changed == expected(step), "\(step): \(run.stdout)", sourceLocation: sourceLocation)
            runs[step] = run
        }
        return runs
    }
}

@Suite("Templates/standin upgrade and teardown scripts on the stand-in", .tags(.large), .serialized)
struct UpgradeTemplateTests {
    /// The upgrade flow's steps that run on the host, in order (docs/steps.md).
    static let upgradeSteps = StepCatalogue.upgrade.map(\.name)

    /// A clone at `fromVersion`, provisioned by the clone flow's scripts with names of `kind`.
    static func provisionedClone(_ kind: String) async throws -> StandInStepFlow {
        let flow = try await offPool {
            try StandInStepFlow(
                version: StandInStepFlow.fromVersion,
                names: kind == "hostile" ? StandInStepScriptsTests.hostile : StandInStepScriptsTests.realistic
            )
        }
        _ = try await flow.runSteps(StandInStepFlow.cloneSteps) { !["preflight", "verify"].contains($0) }
        return flow
    }

    /// Upgrades a clone from one stand-in version to the next; the hostile one's node was drained by its person
    /// before the upgrade, and stays drained.
    @Test(arguments: ["realistic", "hostile"])
    func aCloneUpgradesInPlaceAndTheRerunChangesNothing(_ kind: String) async throws {
        let flow = try await Self.provisionedClone(kind)
        defer { flow.stop() }
        let instance = "--instance=\(flow.values["instance_name"] ?? "")"
        let drainedByPerson = kind == "hostile"
        if drainedByPerson {
            let drained = try await flow.standIn("Octopus.Server", ["node", instance, "--drain=true"])
            try #require(drained.status == 0, "\(drained.stdout)\(drained.stderr)")
        }
        #expect(try await flow.apiVersion() == StandInStepFlow.fromVersion)
        let values = try flow.upgradeValues(
            backupName: drainedByPerson
                ? "Octo'pus \"$(id)\" `id` ]] 日本語.pre-upgrade.bak" : "OctopusClone.pre-upgrade.bak"
        )
        let backupFile = values["upgrade_backup_file"] ?? ""

        let runs = try await flow.runSteps(Self.upgradeSteps, values: values) { step in
            switch step {
            case "upgrade-preflight", "verify": false
            case "undrain": !drainedByPerson
            default: true
            }
        }
        let preflight = runs["upgrade-preflight"]?.facts ?? [:]
        #expect(preflight["installed_version"] == StandInStepFlow.fromVersion, "\(preflight)")
        #expect(preflight["database_version"] == StandInStepFlow.fromVersion)
        #expect(preflight["from_version"] == StandInStepFlow.fromVersion)
        #expect(preflight["target_version"] == StandInStepFlow.toVersion)
        #expect(preflight["database_upgraded"] == "false")
        #expect(preflight["service_running"] == "true")
        #expect(preflight["node_draining"] == String(drainedByPerson))
        #expect(preflight["upgrade_backup_file"] == backupFile)
        #expect(Int(preflight["database_bytes"] ?? "").map { $0 > 0 } == true, "\(preflight)")
        #expect(Int(preflight["free_bytes_work_dir"] ?? "").map { $0 > 0 } == true, "\(preflight)")
        #expect(runs["backup-database"]?.facts["upgrade_backup_file"] == backupFile)
        #expect(Int(runs["backup-database"]?.facts["upgrade_backup_bytes"] ?? "").map { $0 > 0 } == true)
        #expect(runs["drain"]?.facts["node_draining"] == "true")
        #expect(runs["install"]?.facts["installed_version"] == StandInStepFlow.toVersion)
        #expect(runs["upgrade-database"]?.facts["database_version"] == StandInStepFlow.toVersion)
        #expect(runs["undrain"]?.facts["node_draining"] == String(drainedByPerson))
        #expect(runs["verify"]?.facts["octopus_version"] == StandInStepFlow.toVersion)
        #expect(runs["verify"]?.facts["quarantine_sha256"] == flow.values["backup_sha256"])

        // The running server is the target, its database at the target, the node as drained as it was before.
        #expect(try await flow.apiVersion() == StandInStepFlow.toVersion)
        let state = try await flow.sql("database-version")
        #expect(state["database_version"] == StandInStepFlow.toVersion)
        #expect(state["node_draining"] == (drainedByPerson ? "1" : "0"), "\(state)")
        #expect(!FileManager.default.fileExists(atPath: (flow.values["work_dir"] ?? "") + "/octoprov-upgrade-drained"))

        // The rerun changes nothing, and its preflight sees the upgrade done.
        let again = try await flow.runSteps(Self.upgradeSteps, values: values) { _ in false }
        let done = again["upgrade-preflight"]?.facts ?? [:]
        #expect(done["installed_version"] == StandInStepFlow.toVersion && done["database_upgraded"] == "true")

        // The backup holds the database at the version it had: HEADERONLY names it, and it restores as a new
        // database whose newest installation is that version (the rollback the docs describe).
        let header = try await flow.sql("backup-header")
        let row = try #require(header["octoprov-upgrade-\(StandInStepFlow.fromVersion)"], "\(header)")
        let columns = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(columns.count >= 20, "\(columns)")
        #expect(columns.dropFirst(8).first == flow.values["database"], "DatabaseName: \(columns)")
        #expect(columns.dropLast().last == StandInStepFlow.fromVersion, "OctopusVersion: \(columns)")
        let rolledBack = try await restoreAsNewDatabase(flow, backupFile: backupFile)
        #expect(rolledBack["database_version"] == StandInStepFlow.fromVersion, "\(rolledBack)")
    }

    /// `RESTORE DATABASE [rollback-check]` from the upgrade backup, then the newest installation in it.
    func restoreAsNewDatabase(_ flow: StandInStepFlow, backupFile: String) async throws -> [String: String] {
        var values = flow.values
        values["database"] = "rollback-check"
        values["backup_file"] = backupFile
        let data = (flow.values["work_dir"] ?? "") + "/rollback"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let text = """
            SET NOCOUNT ON;
            DECLARE @backup_file NVARCHAR(4000) = {{ backup_file }};
            RESTORE DATABASE {{ database | ident }} FROM DISK = @backup_file
                WITH MOVE N'OctopusDeploy' TO N'\(data)/rollback.mdf', MOVE N'OctopusDeploy_log' TO N'\(data)/rollback.ldf';
            GO
            USE {{ database | ident }};
            GO
            SET NOCOUNT ON;
            SELECT TOP 1 N'database_version', [Version] FROM dbo.OctopusServerInstallationHistory ORDER BY Installed DESC;
            """
        let path = (flow.values["work_dir"] ?? "") + "/rollback-check.sql"
        try TemplateRenderer.render(text, file: path, values: values).write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        return try await flow.sql("rollback-check")
    }

    /// Refuses versions it did not provision and a downgrade, changing nothing; then an upgrade stopped after
    /// `install` resumes where it stopped.
    @Test func theUpgradeRefusesOtherVersionsAndResumesAfterAnInterruption() async throws {
        let flow = try await Self.provisionedClone("realistic")
        defer { flow.stop() }
        var values = try flow.upgradeValues()
        values["from_version"] = "2022.4.8471"
        let other = try await flow.script("upgrade-preflight", values: values)
        #expect(other.status == 1 && other.changed == nil)
        #expect(
            other.stderr
                == "The stand-in 2023.3.13026 is installed, neither the instance's version 2022.4.8471 nor the "
                + "target 2024.1.11892; octoprov upgrades only what it provisioned.\n"
        )
        values["from_version"] = StandInStepFlow.fromVersion
        values["version"] = "2023.2.9755"
        let downgrade = try await flow.script("upgrade-preflight", values: values)
        #expect(downgrade.status == 1 && downgrade.changed == nil)
        #expect(downgrade.stderr.hasPrefix("The target version 2023.2.9755 is older than the instance's 2023.3.13026;"))
        // Nothing was touched: the old server still answers and nothing was backed up.
        #expect(try await flow.apiVersion() == StandInStepFlow.fromVersion)
        #expect(!FileManager.default.fileExists(atPath: values["upgrade_backup_file"] ?? ""))

        // Stopped after install: the new version is installed, the database is still at the old one.
        values = try flow.upgradeValues()
        let beforeDatabase = Array(Self.upgradeSteps.prefix { $0 != "upgrade-database" })
        _ = try await flow.runSteps(beforeDatabase, values: values) { $0 != "upgrade-preflight" }
        #expect(try await flow.apiVersion() == nil)
        let resumed = try await flow.runSteps(Self.upgradeSteps, values: values) { step in
            ["upgrade-database", "start", "undrain"].contains(step)
        }
        let preflight = resumed["upgrade-preflight"]?.facts ?? [:]
        #expect(preflight["installed_version"] == StandInStepFlow.toVersion, "\(preflight)")
        #expect(preflight["database_version"] == StandInStepFlow.fromVersion)
        #expect(preflight["database_upgraded"] == "false" && preflight["node_draining"] == "true")
        #expect(preflight["service_running"] == "false")
        #expect(try await flow.apiVersion() == StandInStepFlow.toVersion)
        #expect(try await flow.sql("database-version")["node_draining"] == "0")
    }

    /// Provisions a test instance, tears it down, and provisions it again (`octoprov rebuild`); then a clone's
    /// teardown after its upgrade.
    @Test func theTeardownLeavesWhatTheNextProvisioningNeeds() async throws {
        let flow = try await offPool {
            try StandInStepFlow(version: StandInStepFlow.fromVersion, mode: "test-instance") { root in
                StandInStepScriptsTests.realistic(root)
            }
        }
        defer { flow.stop() }
        let values = flow.values
        try flow.writeSQL(["drop-database"], values: values)
        _ = try await flow.runSteps(StandInStepFlow.testInstanceSteps) { !["preflight", "verify"].contains($0) }
        let home = values["home_dir"] ?? ""
        let kept = (values["folders_packages"] ?? "") + "/Spaces-1/kept.nupkg"
        try FileManager.default.createDirectory(
            atPath: (kept as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try "package".write(toFile: kept, atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: home + "/octoprov-admin.state"))
        #expect(try await flow.apiVersion() == StandInStepFlow.fromVersion)

        let teardown = try await flow.script("teardown")
        try #require(teardown.status == 0, "\(teardown.all)")
        #expect(teardown.changed == true, "\(teardown.stdout)")
        // The service is gone, so is the instance, its config file, its database and the admin marker.
        #expect(try await flow.apiVersion() == nil)
        let listed = try await flow.standIn("Octopus.Server", ["list-instances"])
        #expect(!listed.stdout.contains("Instance '\(values["instance_name"] ?? "")'"), "\(listed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: values["config_path"] ?? ""))
        #expect(!FileManager.default.fileExists(atPath: home + "/octoprov-admin.state"))
        #expect(try await flow.sql("database-exists")["database_exists"] == "0")
        // The stand-in, the server folders and the work folder's uploads stay.
        for folder in ["folders_packages", "folders_artifacts", "folders_task_logs"] {
            #expect(FileManager.default.fileExists(atPath: values[folder] ?? ""), "\(folder)")
        }
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "package")
        #expect(FileManager.default.fileExists(atPath: values["package_file"] ?? ""))
        #expect(FileManager.default.fileExists(atPath: (values["install_dir"] ?? "") + "/current/VERSION"))

        let again = try await flow.script("teardown")
        #expect(again.status == 0 && again.changed == false, "\(again.all)")

        // Provisioning builds it again: every step that the teardown undid acts again. The stand-in is still
        // installed, and the kept folders are already where the new database's defaults put them.
        let rebuilt = try await flow.runSteps(StandInStepFlow.testInstanceSteps) {
            !["preflight", "install", "set-paths", "verify"].contains($0)
        }
        #expect(rebuilt["preflight"]?.facts["instance_exists"] == "false")
        #expect(try await flow.apiVersion() == StandInStepFlow.fromVersion)
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "package")
    }

    @Test func aClonesTeardownAfterItsUpgradeRemovesTheInstanceAndItsDatabase() async throws {
        let flow = try await Self.provisionedClone("hostile")
        defer { flow.stop() }
        let values = try flow.upgradeValues()
        _ = try await flow.runSteps(Self.upgradeSteps, values: values) {
            !["upgrade-preflight", "verify"].contains($0)
        }

        let teardown = try await flow.script("teardown")
        try #require(teardown.status == 0, "\(teardown.all)")
        #expect(teardown.changed == true)
        #expect(try await flow.apiVersion() == nil)
        #expect(try await flow.sql("database-exists")["database_exists"] == "0")
        #expect(!FileManager.default.fileExists(atPath: flow.values["config_path"] ?? ""))
        for name in ["backup_file", "upgrade_backup_file", "package_file"] {
            #expect(FileManager.default.fileExists(atPath: values[name] ?? ""), "\(name) is kept")
        }
        let again = try await flow.script("teardown")
        #expect(again.status == 0 && again.changed == false, "\(again.all)")

        // `rebuild` provisions the clone again at its version, from its backup: every step acts again.
        try flow.writeSQL(
            ["database-exists", "restore-filelist", "restore", "quarantine", "verify-quarantine", "rows-and-spaces"],
            values: flow.values
        )
        _ = try await flow.runSteps(StandInStepFlow.cloneSteps) { !["preflight", "verify"].contains($0) }
        #expect(try await flow.apiVersion() == StandInStepFlow.fromVersion)
    }
}
