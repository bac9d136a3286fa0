import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

extension StandInMachine {
    /// Runs `Octopus.Migrator` of a version's package (a link to the stand-in, as the package has).
    func migrator(_ version: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let bin = try package(version)
        let link = "\(bin)/Octopus.Migrator"
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil {
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Self.binary)
        }
        return try run(link, arguments, environment: environment)
    }

    /// Seeds "production" of a version with `octopus-standin seed` (one space, four projects "Web App 1.1"
    /// to "Web App 1.4", targets, workers, triggers, releases, queued deployments, sensitive variables) into
    /// database `Source`, and registers it as instance `Source`.
    /// - Returns: The Master Key.
    func seededSource(_ version: String) throws -> String {
        let out = "\(root)/production-\(version)"
        let seeded = try run(
            "\(try package(version))/octopus-standin",
            [
                "seed", "--version", version, "--out", out, "--sql-server", "localhost", "--database", "Source",
                "--spaces", "1", "--projects", "4", "--task-logs", "2", "--packages", "1", "--package-size", "1000",
                "--target-endpoint", "https://127.0.20.1:10933/", "--webhook-url", "http://127.0.20.2:8090/hook",
                "--server-uri", "https://octopus.example.com",
            ]
        )
        #expect(seeded.status == 0, "\(seeded.all)")
        let key = try String(contentsOfFile: "\(out)/master-key", encoding: .utf8)
        let created = try server(
            version,
            ["create-instance", "--instance", "Source", "--config", configPath("Source"), "--serverNodeName", "source"]
        )
        #expect(created.status == 0, "\(created.all)")
        let connected = try server(
            version,
            ["database", "--instance", "Source", "--connectionString", Self.connectionString("Source")],
            environment: ["MASTER_KEY": key]
        )
        #expect(connected.status == 0, "\(connected.all)")
        return key
    }

    /// The Master Key in an instance's config file.
    func masterKey(ofInstance instance: String) throws -> MasterKey {
        let data = try Data(contentsOf: URL(fileURLWithPath: configPath(instance)))
        let settings = try #require(try JSONValue(parsing: [UInt8](data)).objectValue)
        return try MasterKey(base64: try #require(settings["Octopus.Storage.MasterKey"]?.stringValue))
    }
}

/// `Octopus.Migrator partial-export` and `import` through the real binary, between two instances on one
/// stand-in machine (octopus-facts.md §4.6): the route for sources older than 2021.1.
@Suite("Octopus.Migrator", .tags(.medium))
struct MigratorTests {
    static let projects = ["--project", "Web App 1.1", "--project", "Web App 1.2", "--project", "Web App 1.3"]
    static let ignoreAll = ["--ignore-history", "--ignore-deployments", "--ignore-machines"]

    @Test(arguments: ["2020.6.4937", "2018.10.5"])
    func partialExportThenImportBringsExactlyThoseProjects(version: String) throws {
        let machine = try StandInMachine()
        let sourceKey = try machine.seededSource(version)
        let directory = "\(machine.root)/AcmeWebStore"
        let exported = try machine.migrator(
            version,
            ["partial-export", "--instance=Source", "--password=5uper5ecret", "--directory=\(directory)"]
                + Self.projects + Self.ignoreAll
        )
        #expect(exported.status == 0, "\(exported.all)")
        #expect(exported.stdout.contains("Partial export of 3 project(s) written to \(directory)"))
        #expect(!exported.all.contains("5uper5ecret"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory)
        #expect(files.contains("metadata.json") && files.contains("Project/Projects-3.json"))
        #expect(!files.contains("Project/Projects-4.json"))
        for excluded in ["ProjectTrigger/", "Machine/", "Worker/", "Release/", "Deployment/", "ServerTask/"] {
            #expect(!files.contains { $0.hasPrefix(excluded) }, "\(excluded) must not be exported")
        }
        let exportedText = try files.filter { $0.hasSuffix(".json") }
            .map { try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }.joined()
        #expect(!exportedText.contains("p@ss-Projects-1"))

        let provisioned = try machine.provision(version: version, instance: "Test", database: "Test", port: 18181)
        #expect(provisioned.allSatisfy { $0.status == 0 })
        let imported = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "5uper5ecret"]
        )
        #expect(imported.status == 0, "\(imported.all)")
        #expect(imported.stdout.contains("Imported 3 project(s)"), "\(imported.stdout)")
        #expect(
            try machine.column("Test", "SELECT Name FROM Project ORDER BY Name")
                == ["Web App 1.1", "Web App 1.2", "Web App 1.3"]
        )
        #expect(
            try machine.column("Test", "SELECT Name FROM Environment ORDER BY Name")
                == ["Development", "Production", "Test"]
        )
        #expect(try machine.column("Test", "SELECT Name FROM Lifecycle") == ["Default Lifecycle"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Channel") == ["3"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM VariableSet") == ["3"])
        // Each project's process with the source's two steps; with --ignore-history, no release snapshots.
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM DeploymentProcess WHERE IsFrozen = 0") == ["3"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM DeploymentProcess WHERE IsFrozen = 1") == ["0"])
        #expect(
            try machine.column("Test", "SELECT DISTINCT json_array_length([JSON], '$.Steps') FROM DeploymentProcess")
                == ["2"]
        )
        for table in ["ProjectTrigger", "Machine", "Release", "Deployment", "Subscription", "Account", "Certificate"] {
            #expect(try machine.column("Test", "SELECT COUNT(*) FROM [\(table)]") == ["0"], "\(table)")
        }
        if version.hasPrefix("2020") {
            #expect(try machine.column("Test", "SELECT DISTINCT SpaceId FROM Project") == ["Spaces-1"])
        } else {
            #expect(try machine.column("Test", "SELECT COUNT(*) FROM Project WHERE SpaceId IS NULL") == ["3"])
        }
        let project = try #require(
            try machine.column("Test", "SELECT Id FROM Project WHERE Name = 'Web App 1.2'").first
        )
        let secret = try #require(
            try machine.column(
                "Test",
                "SELECT json_extract(v.value, '$.Value') FROM VariableSet, json_each(VariableSet.[JSON], '$.Variables') v "
                    + "WHERE OwnerId = '\(project)' AND json_extract(v.value, '$.Name') = 'ApiPassword'"
            ).first
        )
        let targetKey = try machine.masterKey(ofInstance: "Test")
        #expect(try targetKey.decrypt(secret) == "p@ss-Projects-2")
        #expect((try? MasterKey(base64: sourceKey).decrypt(secret)) != "p@ss-Projects-2")

        // Again: the projects exist, so they are skipped; --overwrite replaces them under the same Ids.
        let ids = try machine.column("Test", "SELECT Id FROM Project ORDER BY Id")
        let again = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "5uper5ecret"]
        )
        #expect(again.status == 0, "\(again.all)")
        #expect(again.stdout.contains("Imported 0 project(s)") && again.stdout.contains("skipped"), "\(again.stdout)")
        #expect(try machine.column("Test", "SELECT Id FROM Project ORDER BY Id") == ids)
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Channel") == ["3"])
        let overwritten = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "5uper5ecret", "--overwrite"]
        )
        #expect(overwritten.status == 0, "\(overwritten.all)")
        #expect(overwritten.stdout.contains("Imported 3 project(s)"), "\(overwritten.stdout)")
        #expect(try machine.column("Test", "SELECT Id FROM Project ORDER BY Id") == ids)
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Channel") == ["3"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Environment") == ["3"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM DeploymentProcess") == ["3"])
    }

    @Test func aWrongPasswordFailsAndImportsNothing() throws {
        let machine = try StandInMachine()
        let version = "2020.6.4937"
        _ = try machine.seededSource(version)
        let directory = "\(machine.root)/export"
        // The password from the environment keeps it out of the process's arguments.
        let exported = try machine.migrator(
            version,
            ["partial-export", "--instance", "Source", "--directory", directory, "--project", "Web App 1.4"]
                + Self.ignoreAll,
            environment: [MigratorCLI.passwordVariable: "right-password"]
        )
        #expect(exported.status == 0, "\(exported.all)")
        #expect(
            try machine.provision(version: version, instance: "Test", database: "Test").allSatisfy { $0.status == 0 }
        )
        let wrong = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "wrong-password"]
        )
        #expect(wrong.status == 100)
        #expect(wrong.stderr.contains("password is incorrect"), "\(wrong.all)")
        #expect(!wrong.all.contains("wrong-password") && !wrong.all.contains("right-password"))
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Project") == ["0"])
        let missing = try machine.migrator(version, ["import", "--instance", "Test", "--directory", directory])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("--password"))
        let right = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "right-password"]
        )
        #expect(right.status == 0, "\(right.all)")
        #expect(try machine.column("Test", "SELECT Name FROM Project") == ["Web App 1.4"])
    }

    @Test func anExportImportsOnlyIntoTheSameVersion() throws {
        let machine = try StandInMachine()
        _ = try machine.seededSource("2020.6.4937")
        let directory = "\(machine.root)/export"
        let exported = try machine.migrator(
            "2020.6.4937",
            ["partial-export", "--instance", "Source", "--directory", directory, "--password", "pw"] + Self.projects
                + Self.ignoreAll
        )
        #expect(exported.status == 0, "\(exported.all)")

        #expect(
            try machine.provision(version: "2020.5.3000", instance: "Older", database: "Older", port: 18182)
                .allSatisfy { $0.status == 0 }
        )
        let older = try machine.migrator(
            "2020.5.3000",
            ["import", "--instance", "Older", "--directory", directory, "--password", "pw"]
        )
        #expect(older.status == 100)
        #expect(older.stderr.contains("newer than this Octopus Server (2020.5.3000)"), "\(older.all)")
        #expect(older.stderr.contains("cannot import into an older version"))
        #expect(try machine.column("Older", "SELECT COUNT(*) FROM Project") == ["0"])

        #expect(
            try machine.provision(version: "2020.6.5000", instance: "Newer", database: "Newer", port: 18183)
                .allSatisfy { $0.status == 0 }
        )
        let newer = try machine.migrator(
            "2020.6.5000",
            ["import", "--instance", "Newer", "--directory", directory, "--password", "pw"]
        )
        #expect(newer.status == 100)
        #expect(newer.stderr.contains("imports only an export of the same version"), "\(newer.all)")
        let forced = try machine.migrator(
            "2020.6.5000",
            ["import", "--instance", "Newer", "--directory", directory, "--password", "pw", "--ignore-version-check"]
        )
        #expect(forced.status == 0, "\(forced.all)")
        #expect(try machine.column("Newer", "SELECT COUNT(*) FROM Project") == ["3"])
    }

    @Test func withoutTheIgnoreSwitchesTargetsAndHistoryComeAlong() throws {
        let machine = try StandInMachine()
        let version = "2020.6.4937"
        _ = try machine.seededSource(version)
        let directory = "\(machine.root)/full"
        let exported = try machine.migrator(
            version,
            [
                "partial-export", "--instance", "Source", "--directory", directory, "--password", "pw", "--project",
                "Web App 1.1",
            ]
        )
        #expect(exported.status == 0, "\(exported.all)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory)
        #expect(files.contains { $0.hasPrefix("Machine/") }, "the targets of the project's environments")
        #expect(files.contains("Release/Releases-1.json"))
        #expect(!files.contains { $0.hasPrefix("ProjectTrigger/") }, "triggers are never exported")

        let refused = try machine.migrator(
            version,
            [
                "partial-export", "--instance", "Source", "--directory", directory, "--password", "pw", "--project",
                "Web App 1.2",
            ]
        )
        #expect(refused.status == 100)
        #expect(refused.stderr.contains("--clean"), "\(refused.all)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: directory).contains("Project/Projects-1.json"))

        #expect(
            try machine.provision(version: version, instance: "Test", database: "Test").allSatisfy { $0.status == 0 }
        )
        let dryRun = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "pw", "--dry-run"]
        )
        #expect(dryRun.status == 0, "\(dryRun.all)")
        #expect(dryRun.stdout.contains("Dry run, nothing was committed. Would import 1 project(s)"), "\(dryRun.stdout)")
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM Project") == ["0"])
        let imported = try machine.migrator(
            version,
            ["import", "--instance", "Test", "--directory", directory, "--password", "pw"]
        )
        #expect(imported.status == 0, "\(imported.all)")
        #expect(try machine.column("Test", "SELECT Name FROM Project") == ["Web App 1.1"])
        #expect(try Int(machine.column("Test", "SELECT COUNT(*) FROM Machine").first ?? "") ?? 0 > 0)
        #expect(try machine.column("Test", "SELECT Version FROM Release") == ["1.0.1"])
        // The release comes with the snapshot of the process it was created from, renamed for the new project.
        #expect(files.contains { $0.hasPrefix("DeploymentProcess/deploymentprocess-Projects-1-s-1-") })
        let newProject = try #require(try machine.column("Test", "SELECT Id FROM Project").first)
        let snapshot = try #require(
            try machine.column(
                "Test",
                "SELECT json_extract([JSON], '$.ProjectDeploymentProcessSnapshotId') FROM Release"
            ).first
        )
        #expect(snapshot.hasPrefix("deploymentprocess-\(newProject)-s-1-"), "\(snapshot)")
        #expect(
            try machine.column(
                "Test",
                "SELECT IsFrozen || ':' || OwnerId FROM DeploymentProcess WHERE Id = '\(snapshot)'"
            )
                == ["1:\(newProject)"]
        )
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM DeploymentProcess WHERE IsFrozen = 0") == ["1"])
        #expect(try machine.column("Test", "SELECT COUNT(*) FROM ProjectTrigger") == ["0"])

        let cleaned = try machine.migrator(
            version,
            [
                "partial-export", "--instance", "Source", "--directory", directory, "--password", "pw", "--project",
                "Web App 1.2", "--clean",
            ] + Self.ignoreAll
        )
        #expect(cleaned.status == 0, "\(cleaned.all)")
        let after = try FileManager.default.subpathsOfDirectory(atPath: directory)
        #expect(after.contains("Project/Projects-2.json") && !after.contains("Project/Projects-1.json"))
    }

    @Test func unknownProjectsAndCommandsAreRefused() throws {
        let machine = try StandInMachine()
        let version = "2020.6.4937"
        _ = try machine.seededSource(version)
        let nothing = try machine.migrator(
            version,
            [
                "partial-export", "--instance", "Source", "--directory", "\(machine.root)/x", "--password", "pw",
                "--project", "No Such Project",
            ]
        )
        #expect(nothing.status == 100)
        #expect(nothing.stderr.contains("There is no project named 'No Such Project'"))
        let export = try machine.migrator(version, ["export", "--instance", "Source"])
        #expect(export.status == 1 && export.stderr.contains("not supported by the stand-in"))
        let unknownFlag = try machine.migrator(version, ["import", "--instance", "Source", "--bogus"])
        #expect(unknownFlag.status == 1 && unknownFlag.stderr.contains("Unrecognized command line arguments: --bogus"))
        let help = try machine.migrator(version, ["help"])
        #expect(help.status == 0 && help.stdout.contains("partial-export") && help.stdout.contains("import"))
    }
}
