import Foundation
import Provisioning
import Sandbox
import TestHelpers
import Testing

/// The test-instance flow's Migrator route against `octoprov sandbox` (issue 6, sources before 2021.1): production
/// runs 2020.6, which has no Export/Import Projects, so the chosen projects are exported with `Octopus.Migrator
/// partial-export` on the source host (vm2, whose vars point at production's install, home and SQL data folder on
/// this same machine), copied to the test host (vm1) and imported there.
@Suite("octoprov provision: the Migrator route", .tags(.large))
struct MigratorRouteLiveTests {
    static let version = "2020.6.4937"

    @Test func chosenProjectsArriveThroughTheMigratorAndARerunChangesNothing() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-mig-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("sbx").path
        let stateDirectory = base.appendingPathComponent("state").path
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov(["sandbox", "up", "--vms", "2", "--version", Self.version, "--dir", directory])
        try #require(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        defer { _ = try? SandboxControl.down(layout) }
        let state = try #require(SandboxState.read(from: layout))
        try #require(state.productionVersion == Self.version)
        let source = try #require(state.productionURL)
        let vm1 = state.vms[0]
        let vm2 = state.vms[1]

        // vm2 plays the source server's machine: its install folder links `current` to production's install.
        let sourceInstall = "\(directory)/source-install"
        try FileManager.default.createDirectory(atPath: sourceInstall, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: "\(sourceInstall)/current",
            withDestinationPath: "\(layout.productionDirectory)/install/octopus-standin-\(Self.version)"
        )
        let password = "exp0rt 'pässword' $(x)"
        try writePrivateFile(password + "\n", to: "\(directory)/export-password")
        try writePrivateFile(
            "<License><Name>sandbox</Name></License>\n",
            to: "\(directory)/license.xml"
        )
        let sha256 = try mirrorPackageSHA256(layout, version: Self.version)
        func instance(_ name: String, projects: String) -> String {
            """
              \(name):
                mode: test-instance
                hosts: [vm1]
                version: \(Self.version)
                package:
                  mirror: mirror
                  sha256: \(sha256)
                source:
                  url: \(source)
                  api_key: file:production/api-key
                  space: Default
                  projects: \(projects)
                  export_password: file:export-password
                  host: vm2
                admin:
                  username: octoprov
                  email: octoprov@sandbox.invalid
                  password: file:production/admin-password
                license: file:license.xml

            """
        }
        let inventory = "\(directory)/migrator.yml"
        let text = """
            defaults:
              user: \(NSUserName())
              identity: keys/id_ed25519
              known_hosts: known_hosts
              host_key_policy: strict
              agent: false
              platform: standin
            hosts:
              vm1:
                address: \(vm1.address)
                port: \(vm1.port)
                vars:
                  install_dir: \(vm1.rootDirectory)/opt/octopus-standin
                  home_dir: \(vm1.rootDirectory)/octopus
                  work_dir: \(vm1.rootDirectory)/tmp/octoprov
                  sql_data_root: \(vm1.rootDirectory)/var/lib/octopus-standin
                  data_dir: \(vm1.rootDirectory)/var/lib/octopus-standin/localhost
                  web_listen_prefix: http://\(vm1.address):\(vm1.webPort ?? 8080)
              vm2:
                address: \(vm2.address)
                port: \(vm2.port)
                vars:
                  install_dir: \(sourceInstall)
                  home_dir: \(layout.productionDirectory)/home
                  work_dir: \(vm2.rootDirectory)/tmp/octoprov
                  sql_data_root: \(layout.productionDirectory)/sql
                  instance_name: Production
            instances:

            """
        try Data((text + instance("chosen", projects: "[\"Web App 1.1\", \"Web App 1.3*\"]")).utf8)
            .write(to: URL(fileURLWithPath: inventory))
        // A spec whose pattern matches nothing, for the same host: in a file of its own (one instance per host).
        let nothingInventory = "\(directory)/migrator-nothing.yml"
        try Data((text + instance("nothing", projects: "[\"Billing*\"]")).utf8)
            .write(to: URL(fileURLWithPath: nothingInventory))
        let common = ["-i", inventory, "--state-dir", stateDirectory]

        // The plan names the source host's script.
        let plan = try await octoprov(["plan", "-i", inventory, "--instance", "chosen"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(
            plan.stdout.contains("source host vm2: standin/migrator-export.sh (instance Production"),
            "\(plan.stdout)"
        )

        let arguments = ArgumentSampler()
        arguments.start()
        let first = try await octoprov(
            ["provision"] + common + ["--instance", "chosen", "--report-json", "\(base.path)/first.json"]
        )
        arguments.stop()
        #expect(first.status == 0, "\(first.stderr)")
        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/first.json")))
        let chosen = try #require(report.instances.first?.hosts.first)
        let imported = try #require(chosen.steps.first { $0.name == "import-projects" })
        #expect(imported.status == .changed, "\(imported)")
        #expect(
            imported.message?.hasPrefix("Exported 2 project(s) (Web App 1.1, Web App 1.3) with Octopus.Migrator on vm2")
                == true,
            "\(imported)"
        )
        #expect(imported.message?.hasSuffix("Imported 2 project(s) with Octopus.Migrator.") == true, "\(imported)")
        #expect(!chosen.checks.isEmpty && chosen.checks.allSatisfy(\.passed), "\(chosen.checks)")

        // Exactly the chosen projects, at production's version, with no triggers and no targets.
        let apiKey = try TestInstanceLiveTests.apiKey(stateDirectory, instance: "chosen")
        let client = try OctopusClient(baseURL: "http://\(vm1.address):\(vm1.webPort ?? 8080)", apiKey: apiKey)
        #expect(try await client.root().version == Self.version)
        var projects: [String] = []
        var triggers = 0
        var machines = 0
        for scope in try await client.scopes() {
            projects += try await client.list(.projects, in: scope).compactMap(\.name)
            triggers += try await client.list(.projectTriggers, in: scope).count
            machines += try await client.list(.machines, in: scope).count
        }
        #expect(projects.sorted() == ["Web App 1.1", "Web App 1.3"])
        #expect(triggers == 0 && machines == 0)
        // Each with its deployment process, variables, channels and their lifecycles, as on the source.
        let sourceClient = try productionClient(layout, state: state)
        let sourceProjects = try await sourceClient.list(.projects, in: .space("Spaces-1"))
        let copies = try await client.list(.projects, in: .space("Spaces-1"))
        for name in projects {
            let original = try #require(sourceProjects.first { $0.name == name })
            let copy = try #require(copies.first { $0.name == name })
            let expected = try await TestInstanceLiveTests.model(of: original, on: sourceClient)
            #expect(!expected.steps.isEmpty && !expected.variables.isEmpty && !expected.channels.isEmpty, "\(name)")
            #expect(try await TestInstanceLiveTests.model(of: copy, on: client) == expected, "\(name)")
        }

        // The source host's export folder is gone; the password was in no process's arguments and in no output.
        let leftovers =
            (try? FileManager.default.contentsOfDirectory(atPath: "\(vm2.rootDirectory)/tmp/octoprov")) ?? []
        #expect(!leftovers.contains { $0.hasPrefix("migrator-export.") }, "\(leftovers)")
        #expect(!arguments.seen.isEmpty)
        #expect(!arguments.seen.contains { $0.contains("pässword") }, "the export password was in a command line")
        let reportText = try String(contentsOfFile: "\(base.path)/first.json", encoding: .utf8)
        for output in [first.stdout, first.stderr, reportText] {
            #expect(!output.contains("pässword"))
        }

        // A rerun changes nothing; running the import again imports nothing, and says so.
        let again = try await octoprov(
            ["provision"] + common + ["--instance", "chosen", "--report-json", "\(base.path)/again.json"]
        )
        #expect(again.status == 0, "\(again.stderr)")
        let rerun = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/again.json")))
        let steps = rerun.instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(!steps.isEmpty && steps.allSatisfy { $0.status == .ok }, "\(steps)")
        let forced = try await octoprov(
            ["provision"] + common + [
                "--instance", "chosen", "--from-step", "import-projects", "--report-json", "\(base.path)/forced.json",
            ]
        )
        #expect(forced.status == 0, "\(forced.stderr)")
        let forcedReport = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/forced.json")))
        let forcedImport = try #require(
            forcedReport.instances.flatMap(\.hosts).flatMap(\.steps).first { $0.name == "import-projects" }
        )
        #expect(forcedImport.status == .ok, "\(forcedImport)")
        #expect(forcedImport.message?.contains("Octopus.Migrator imported none") == true, "\(forcedImport)")

        // A pattern that matches nothing on the source stops the host at preflight with one sentence.
        let nothing = try await octoprov(
            ["provision", "-i", nothingInventory, "--state-dir", stateDirectory, "--instance", "nothing"]
                + ["--report-json", "\(base.path)/nothing.json"]
        )
        #expect(nothing.status == 1, "\(nothing.stderr)")
        let nothingReport = try ProvisionReport(
            json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/nothing.json"))
        )
        let failed = try #require(
            nothingReport.instances.flatMap(\.hosts).flatMap(\.steps).first { $0.status == .failed }
        )
        #expect(failed.name == "preflight")
        #expect(failed.message?.contains("The project pattern `Billing*` matches no project in Default") == true)
    }
}
