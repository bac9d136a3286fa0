import Foundation
import Provisioning
import Sandbox
import TestHelpers
import Testing
import Wire

/// The test-instance flow over Export/Import Projects against `octoprov sandbox` (issue 6, the 2021.1+ route):
/// a fresh instance at production's version holding exactly the projects chosen by name and glob, and the
/// source checks that stop a host at preflight before anything is installed.
@Suite("octoprov provision: test instances", .tags(.large))
struct TestInstanceLiveTests {
    @Test func chosenProjectsArriveOnAFreshInstanceAndBadSourcesStopAtPreflight() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-ti-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("sbx").path
        let stateDirectory = base.appendingPathComponent("state").path
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov(["sandbox", "up", "--vms", "4", "--dir", directory])
        try #require(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        defer { _ = try? SandboxControl.down(layout) }
        let state = try #require(SandboxState.read(from: layout))
        let source = try #require(state.productionURL)
        let production = try #require(state.productionVersion)
        let other = "2024.1.11892"

        // The secrets a test instance needs: the source's API key, an export password, a licence (all 0600).
        try writePrivateFile("exp0rt 'pässword' $(x)\n", to: "\(directory)/export-password")
        try writePrivateFile("<License><Name>sandbox</Name></License>\n", to: "\(directory)/license.xml")
        let hosts = try #require(
            try String(contentsOfFile: layout.inventoryPath, encoding: .utf8)
                .components(separatedBy: "\ninstances:\n").first
        )
        func instance(
            _ name: String,
            vm: String,
            version: String,
            projects: String,
            space: String? = "Default"
        ) throws -> String {
            """
              \(name):
                mode: test-instance
                hosts: [\(vm)]
                version: \(version)
                package:
                  mirror: mirror
                  sha256: \(try mirrorPackageSHA256(layout, version: version))
                source:
                  url: \(source)
                  api_key: file:production/api-key
                  \(space.map { "space: \($0)" } ?? "# the spaces are the keys of projects")
                  projects: \(projects)
                  export_password: file:export-password
                admin:
                  username: octoprov
                  email: octoprov@sandbox.invalid
                  password: file:production/admin-password
                license: file:license.xml

            """
        }
        let inventory = "\(directory)/test-instances.yml"
        try Data(
            (hosts + "\ninstances:\n"
                + (try instance(
                    "chosen",
                    vm: "vm1",
                    version: production,
                    projects: "[\"Web App 1.1\", \"Web App 1.4\", \"*p 1.3\"]"
                ))
                + (try instance("nothing", vm: "vm2", version: production, projects: "[\"Billing*\"]"))
                + (try instance("newer", vm: "vm3", version: other, projects: "[\"Web App 1.1\"]"))
                + (try instance(
                    "two-spaces",
                    vm: "vm4",
                    version: production,
                    projects: "{Default: [\"Web App 1.2\"], Space 2: [\"Web App 2.2\"]}",
                    space: nil
                ))).utf8
        ).write(to: URL(fileURLWithPath: inventory))
        let common = ["-i", inventory, "--state-dir", stateDirectory]

        let first = try await octoprov(
            ["provision"] + common + ["--parallel", "4", "--report-json", "\(base.path)/r.json"]
        )
        #expect(first.status == 1, "\(first.stderr)")
        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/r.json")))
        let byInstance = Dictionary(uniqueKeysWithValues: report.instances.map { ($0.name, $0) })

        // The chosen projects, by name and glob, arrive on a fresh instance at the pinned version; verify passes.
        let chosen = try #require(byInstance["chosen"]?.hosts.first)
        #expect(chosen.status == .changed, "\(chosen)")
        let imported = try #require(chosen.steps.first { $0.name == "import-projects" })
        #expect(imported.status == .changed)
        #expect(imported.message == "Imported 3 project(s) from the source: Web App 1.1, Web App 1.4, Web App 1.3.")
        #expect(chosen.checks.count == 8 && chosen.checks.allSatisfy(\.passed), "\(chosen.checks)")
        let vm1 = try #require(state.vms.first)
        let apiKey = try Self.apiKey(stateDirectory, instance: "chosen")
        let client = try OctopusClient(baseURL: "http://\(vm1.address):\(vm1.webPort ?? 8080)", apiKey: apiKey)
        let root = try await client.root()
        #expect(root.version == production)
        var projects: [String] = []
        var triggers = 0
        var machines = 0
        for scope in try await client.scopes() {
            projects += try await client.list(.projects, in: scope).compactMap(\.name)
            triggers += try await client.list(.projectTriggers, in: scope).count
            machines += try await client.list(.machines, in: scope).count
        }
        #expect(projects.sorted() == ["Web App 1.1", "Web App 1.3", "Web App 1.4"])
        #expect(triggers == 0 && machines == 0)
        // Each arrived with its deployment process, variables, channels and their lifecycles, as on the source.
        let sourceClient = try productionClient(layout, state: state)
        let sourceProjects = try await sourceClient.list(.projects, in: .space("Spaces-1"))
        let copies = try await client.list(.projects, in: .space("Spaces-1"))
        for name in projects {
            let original = try #require(sourceProjects.first { $0.name == name })
            let copy = try #require(copies.first { $0.name == name })
            let expected = try await Self.model(of: original, on: sourceClient)
            #expect(!expected.steps.isEmpty && !expected.variables.isEmpty && !expected.channels.isEmpty, "\(name)")
            #expect(try await Self.model(of: copy, on: client) == expected, "\(name)")
        }

        // A pattern that selects nothing, and a source at another version than the pin: one sentence each, at
        // preflight, before anything is installed.
        let nothing = try #require(byInstance["nothing"]?.hosts.first)
        let nothingStep = try #require(nothing.steps.first { $0.status == .failed })
        #expect(nothingStep.name == "preflight")
        #expect(nothingStep.message?.contains("The project pattern `Billing*` matches no project in Default") == true)
        #expect(nothingStep.message?.hasSuffix("correct `source.projects`.") == true)
        let newer = try #require(byInstance["newer"]?.hosts.first)
        let newerStep = try #require(newer.steps.first { $0.status == .failed })
        #expect(newerStep.name == "preflight")
        #expect(newerStep.message?.contains("runs Octopus \(production) but the pinned version is \(other)") == true)
        // Projects chosen in two spaces: the space the fresh instance lacks is created there, and each project
        // lands in its own space.
        let twoSpaces = try #require(byInstance["two-spaces"]?.hosts.first)
        #expect(twoSpaces.status == .changed && twoSpaces.checks.allSatisfy(\.passed), "\(twoSpaces)")
        #expect(
            twoSpaces.steps.first { $0.name == "import-projects" }?.message
                == "Imported 2 project(s) from the source (spaces Default, Space 2): Web App 1.2, Web App 2.2."
        )
        let vm4 = state.vms[3]
        let vm4Client = try OctopusClient(
            baseURL: "http://\(vm4.address):\(vm4.webPort ?? 8080)",
            apiKey: try Self.apiKey(stateDirectory, instance: "two-spaces")
        )
        let vm4Spaces = try await vm4Client.spaces()
        let vm4Default = try #require(vm4Spaces.first { $0.isDefault })
        let vm4Space = try #require(vm4Spaces.first { $0.name == "Space 2" })
        #expect(try await vm4Client.list(.projects, in: .space(vm4Default.id)).compactMap(\.name) == ["Web App 1.2"])
        #expect(try await vm4Client.list(.projects, in: .space(vm4Space.id)).compactMap(\.name) == ["Web App 2.2"])

        for vm in state.vms.dropFirst().prefix(2) {
            #expect(!FileManager.default.fileExists(atPath: "\(vm.rootDirectory)/opt/octopus-standin"), "\(vm.name)")
        }

        // A rerun of the good one changes nothing and imports nothing again.
        let again = try await octoprov(
            ["provision"] + common + ["--instance", "chosen", "--report-json", "\(base.path)/again.json"]
        )
        #expect(again.status == 0, "\(again.stderr)")
        let rerun = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/again.json")))
        let steps = rerun.instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(!steps.isEmpty && steps.allSatisfy { $0.status == .ok }, "\(steps)")

        // A task that fails on the source: the export cannot write its artifact there. The host ends at
        // import-projects with the task's error and nothing imported; once the source is fixed, a rerun finishes.
        // (vm2, whose preflight refused above, has nothing installed; its own inventory keeps the runs apart.)
        let failing = "\(directory)/source-fails.yml"
        try Data(
            (hosts + "\ninstances:\n"
                + (try instance("source-fails", vm: "vm2", version: production, projects: "[\"Web App 1.2\"]"))).utf8
        ).write(to: URL(fileURLWithPath: failing))
        let artifacts = "\(layout.productionDirectory)/folders/Artifacts"
        try FileManager.default.moveItem(atPath: artifacts, toPath: artifacts + ".moved")
        try Data("not a folder\n".utf8).write(to: URL(fileURLWithPath: artifacts))
        let broken = try await octoprov(
            ["provision", "-i", failing, "--state-dir", stateDirectory, "--report-json", "\(base.path)/broken.json"]
        )
        try FileManager.default.removeItem(atPath: artifacts)
        try FileManager.default.moveItem(atPath: artifacts + ".moved", toPath: artifacts)
        #expect(broken.status == 1, "\(broken.stderr)")
        let brokenReport = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/broken.json")))
        let brokenHost = try #require(brokenReport.instances.first?.hosts.first)
        let brokenStep = try #require(brokenHost.steps.first { $0.status == .failed })
        #expect(brokenStep.name == "import-projects")
        #expect(brokenStep.message?.contains("ended Failed: Cannot write the export") == true, "\(brokenStep)")
        #expect(brokenStep.message?.hasSuffix("fix the cause, then run provision again.") == true)
        let vm2 = state.vms[1]
        let vm2Client = try OctopusClient(
            baseURL: "http://\(vm2.address):\(vm2.webPort ?? 8080)",
            apiKey: try Self.apiKey(stateDirectory, instance: "source-fails")
        )
        #expect(try await vm2Client.list(.projects, in: .space("Spaces-1")).isEmpty, "half-imported")
        let fixed = try await octoprov(["provision", "-i", failing, "--state-dir", stateDirectory])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(try await vm2Client.list(.projects, in: .space("Spaces-1")).compactMap(\.name) == ["Web App 1.2"])

        // An export made earlier on the source, as an administrator hands it over (`source.export_file`, no
        // `source.url`): with the wrong password the import fails with Octopus's sentence and nothing is imported;
        // with the password the export was made with, a rerun imports it. (vm3 stopped at preflight above.)
        let wanted = try await sourceClient.list(.projects, in: .space("Spaces-1"))
            .filter { ["Web App 1.1", "Web App 1.4"].contains($0.name ?? "") }
        try #require(wanted.count == 2)
        let export = try await sourceClient.post(
            JSONValue.self,
            "/api/Spaces-1/projects/import-export/export",
            body: .object([
                "IncludedProjectIds": .array(wanted.map { .string($0.id) }),
                "Password": .object(["HasValue": .bool(true), "NewValue": .string("handed-over pw")]),
            ])
        )
        let exportTask = try #require(export.member("TaskId")?.stringValue)
        let exported = try await sourceClient.waitForTask(
            exportTask,
            in: .space("Spaces-1"),
            timeout: .seconds(60),
            interval: .milliseconds(200)
        )
        #expect(exported.finishedSuccessfully)
        let artifact = try #require(
            try await sourceClient.all(
                JSONValue.self,
                "/api/Spaces-1/artifacts",
                query: [("regarding", exportTask)]
            ).first
        )
        let zip = try await sourceClient.download(
            try #require(artifact.member("Links")?.member("Content")?.stringValue)
        )
        try Data(zip).write(to: URL(fileURLWithPath: "\(directory)/handed-over.zip"))
        try writePrivateFile("not the export's password\n", to: "\(directory)/handed-over-password")
        let fromFile = "\(directory)/from-file.yml"
        try Data(
            (hosts + """

                instances:
                  from-file:
                    mode: test-instance
                    hosts: [vm3]
                    version: \(production)
                    package:
                      mirror: mirror
                      sha256: \(try mirrorPackageSHA256(layout, version: production))
                    source:
                      export_file: handed-over.zip
                      projects: ["Web App 1.*"]
                      export_password: file:handed-over-password
                    admin:
                      username: octoprov
                      email: octoprov@sandbox.invalid
                      password: file:production/admin-password
                    license: file:license.xml

                """).utf8
        ).write(to: URL(fileURLWithPath: fromFile))
        let fileArguments = ["provision", "-i", fromFile, "--state-dir", stateDirectory, "--report-json"]
        let wrong = try await octoprov(fileArguments + ["\(base.path)/wrong.json"])
        #expect(wrong.status == 1, "\(wrong.stderr)")
        let wrongReport = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/wrong.json")))
        let wrongStep = try #require(wrongReport.instances.first?.hosts.first?.steps.first { $0.status == .failed })
        #expect(wrongStep.name == "import-projects", "\(wrongStep)")
        #expect(wrongStep.message?.contains("The password is incorrect") == true, "\(wrongStep)")
        #expect(!wrong.stdout.contains("not the export's password") && !wrong.stderr.contains("handed-over pw"))
        let vm3 = state.vms[2]
        let vm3Client = try OctopusClient(
            baseURL: "http://\(vm3.address):\(vm3.webPort ?? 8080)",
            apiKey: try Self.apiKey(stateDirectory, instance: "from-file")
        )
        #expect(try await vm3Client.list(.projects, in: .space("Spaces-1")).isEmpty, "half-imported")
        try FileManager.default.removeItem(atPath: "\(directory)/handed-over-password")
        try writePrivateFile("handed-over pw\n", to: "\(directory)/handed-over-password")
        let right = try await octoprov(fileArguments + ["\(base.path)/right.json"])
        #expect(right.status == 0, "\(right.stderr)")
        let rightReport = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(base.path)/right.json")))
        let rightHost = try #require(rightReport.instances.first?.hosts.first)
        #expect(
            rightHost.steps.first { $0.name == "import-projects" }?.message
                == "Imported handed-over.zip: Web App 1.1, Web App 1.4."
        )
        #expect(rightHost.checks.allSatisfy { $0.passed }, "\(rightHost.checks)")
        #expect(
            try await vm3Client.list(.projects, in: .space("Spaces-1")).compactMap(\.name).sorted()
                == ["Web App 1.1", "Web App 1.4"]
        )
    }

    /// What an import must carry of a project, by name: its deployment process's step names, its variables' names,
    /// and its channels with their lifecycles (a channel without one follows the project's).
    struct ProjectModel: Equatable {
        var steps: [String]
        var variables: [String]
        var channels: [String]
    }

    static func model(of project: OctopusResource, on client: OctopusClient) async throws -> ProjectModel {
        let prefix = "/api/\(project.spaceId ?? "Spaces-1")"
        let process = try await client.get(
            JSONValue.self,
            "\(prefix)/deploymentprocesses/\(project.document.member("DeploymentProcessId")?.stringValue ?? "")"
        )
        let variables = try await client.get(
            JSONValue.self,
            "\(prefix)/variables/\(project.document.member("VariableSetId")?.stringValue ?? "")"
        )
        var channels: [String] = []
        for channel in try await client.all(JSONValue.self, "\(prefix)/projects/\(project.id)/channels") {
            let lifecycleId =
                channel.member("LifecycleId")?.stringValue ?? project.document.member("LifecycleId")?.stringValue ?? ""
            let lifecycle = try await client.get(JSONValue.self, "\(prefix)/lifecycles/\(lifecycleId)")
            channels.append(
                "\(channel.member("Name")?.stringValue ?? "") → \(lifecycle.member("Name")?.stringValue ?? "")"
            )
        }
        return ProjectModel(
            steps: (process.member("Steps")?.arrayValue ?? []).compactMap { $0.member("Name")?.stringValue },
            variables: (variables.member("Variables")?.arrayValue ?? []).compactMap { $0.member("Name")?.stringValue }
                .sorted(),
            channels: channels.sorted()
        )
    }

    /// The API key octoprov generated for an instance's host (the journal's secret file).
    static func apiKey(_ stateDirectory: String, instance: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/journal")
        let file = try #require(names.first { $0.contains("-\(instance)-") && $0.hasSuffix(".secrets.json") })
        let text = try String(contentsOfFile: "\(stateDirectory)/journal/\(file)", encoding: .utf8)
        return try #require(
            text.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).map(String.init)
                .first { $0.hasPrefix("API-") }
        )
    }
}
