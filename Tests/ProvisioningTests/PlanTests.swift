import Foundation
import Testing

@testable import Provisioning

/// Builds the plan of `yaml` against the test templates (minus `leavingOut`, plus `extraTemplates`), in a
/// temporary folder, and hands it to `body` with the folder.
private func withPlan<Result>(
    _ yaml: String,
    files: [FixtureFile] = [],
    environment: [String: String] = CheckFixture.environment,
    variables: [String] = [],
    instance: String? = nil,
    limit: String? = nil,
    leavingOut: Set<String> = [],
    extraTemplates: [FixtureFile] = [],
    _ body: (Swift.Result<ProvisioningPlan, PlanError>, String) throws -> Result
) throws -> Result {
    let all =
        CheckFixture.files + files + TestTemplates.files(leavingOut: leavingOut) + extraTemplates
        + [FixtureFile(path: "inventory.yml", contents: yaml)]
    return try withTemporaryDirectory(all) { directory in
        var environment = environment
        environment["HOME"] = directory + "/home"
        let check = InventoryCheck.run(
            path: directory + "/inventory.yml",
            environment: environment,
            variables: variables
        )
        let library = try TemplateLibrary(directory: directory + "/templates")
        let result = Swift.Result { () throws(PlanError) in
            try ProvisioningPlan.build(check: check, instance: instance, limit: limit, templates: library)
        }
        return try body(result, directory)
    }
}

@Suite struct PlanTests {
    static let package = "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}"

    @Test(arguments: Platform.allCases)
    func everyHostStepIsRenderedOnEveryPlatform(platform: Platform) throws {
        for (lines, mode) in [(CheckFixture.clone, InstanceMode.clone), (CheckFixture.testInstance, .testInstance)] {
            let yaml = CheckFixture.yaml(lines, replacing: [5: "    platform: \(platform)", 11: Self.package])
            try withPlan(yaml) { result, _ in
                let plan = try result.get()
                let host = try #require(plan.hosts.first)
                #expect(plan.hosts.count == 1)
                #expect(host.steps.map(\.definition.name) == StepCatalogue.steps(for: host.instance).map(\.name))
                #expect(host.steps.map(\.position) == Array(1...host.steps.count))
                let extensionName = platform.scriptLanguage.fileExtension
                for step in host.steps {
                    // Every step with a template renders it: the host steps and verify's host part.
                    let rendersScript = step.definition.runsOn == .host || step.definition.name == "verify"
                    #expect((step.script != nil) == rendersScript, "\(step.definition.name)")
                    guard let script = step.script else { continue }
                    #expect(script.template == "\(platform)/\(step.definition.name).\(extensionName)")
                    #expect(
                        script.outputName == String(format: "%02d-", step.position)
                            + "\(step.definition.name).\(extensionName)"
                    )
                    #expect(script.contents.contains("host_name"))
                    #expect(script.contents.contains(platform == .windows ? "'vm1'" : "'vm1'"))
                }
                // Under the names the scripts read from work_dir, in the order the steps first use them.
                let expectedSQL =
                    mode == .clone
                    ? [
                        "database-exists.sql", "restore-filelist.sql", "restore.sql", "verify-quarantine.sql",
                        "quarantine.sql", "rows-and-spaces.sql",
                    ]
                    : ["database-exists.sql"]
                #expect(host.sqlFiles.map(\.outputName) == expectedSQL)
                #expect(host.sqlFiles.map(\.template) == expectedSQL.map { "sql/" + $0 })
                #expect(host.sqlFiles.allSatisfy { $0.contents.contains("USE [Octopus") })
            }
        }
    }

    @Test func missingVariableFailsNamingTheTemplateAndTheVariable() throws {
        let broken = FixtureFile(path: "templates/standin/preflight.sh", contents: "echo {{ instance_nme }}\n")
        try withPlan(
            CheckFixture.yaml(CheckFixture.clone),
            leavingOut: ["standin/preflight.sh"],
            extraTemplates: [broken]
        ) { result, directory in
            guard case .failure(.templates(let errors)) = result else {
                Issue.record("expected template errors, got \(result)")
                return
            }
            #expect(errors.errors.count == 1)
            let error = try #require(errors.errors.first)
            #expect(error.code == .missingVariable)
            #expect(error.variable == "instance_nme")
            #expect(error.location.file == directory + "/templates/standin/preflight.sh")
            #expect(error.description.hasPrefix(directory + "/templates/standin/preflight.sh:1:6: "))
            #expect(error.message.contains("did you mean `instance_name`?"))
        }
    }

    @Test func missingTemplateFailsNamingTheExpectedFile() throws {
        try withPlan(
            CheckFixture.yaml(CheckFixture.clone),
            leavingOut: ["standin/quarantine.sh", "sql/restore.sql"]
        ) { result, _ in
            guard case .failure(.templates(let errors)) = result else {
                Issue.record("expected template errors, got \(result)")
                return
            }
            #expect(errors.errors.map(\.code) == [.templateNotFound, .templateNotFound])
            #expect(errors.description.contains("`standin/quarantine.sh`"))
            #expect(errors.description.contains("`sql/restore.sql`"))
        }
    }

    @Test func aTemplateInTheWrongLanguageIsRefused() throws {
        try withPlan(
            CheckFixture.yaml(CheckFixture.clone),
            leavingOut: ["standin/start.sh"],
            extraTemplates: [FixtureFile(path: "templates/standin/start.ps1", contents: "Write-Output 1\n")]
        ) { result, _ in
            guard case .failure(.templates(let errors)) = result else {
                Issue.record("expected template errors, got \(result)")
                return
            }
            #expect(errors.errors.map(\.code) == [.unknownLanguage])
            #expect(errors.description.contains("`standin/start.sh`"))
        }
    }

    @Test func secretsAreNamedByReferenceAndNeverRendered() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            adding: [
                "    admin: {username: breakglass, password: env:ADMIN_PW}", "    license: file:secrets/license.xml",
            ]
        )
        try withPlan(yaml) { result, directory in
            let plan = try result.get()
            let text = plan.lines.joined(separator: "\n")
            #expect(text.contains("secrets: master_key ← env:MASTER_KEY"))
            #expect(
                text.contains(
                    "secrets: admin_password ← env:ADMIN_PW, admin_api_key ← generated by octoprov, "
                        + "license_base64 ← file:secrets/license.xml"
                )
            )
            try plan.write(to: directory + "/out")
            let written = try fileTree(directory + "/out").values.map { String(decoding: $0, as: UTF8.self) }
            #expect(!written.isEmpty)
            for secret in CheckFixture.environment.values + ["<license-text-value/>"] {
                #expect(!text.contains(secret))
                #expect(written.allSatisfy { !$0.contains(secret) })
            }
        }
    }

    @Test func aSQLLoginsPasswordIsNamedByReferenceOnTheStepsThatReadIt() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                1: "defaults: {sql_password: env:SQL_PW}\nhosts:",
                5: "    platform: linux-container\n    vars: {sql_user: octoprov, sql_server: sql.example}", 11: "",
            ]
        )
        var environment = CheckFixture.environment
        environment["SQL_PW"] = "sql-login-password-value"
        try withPlan(yaml, environment: environment) { result, directory in
            let plan = try result.get()
            let text = plan.lines.joined(separator: "\n")
            let host = try #require(plan.hosts.first)
            let withPassword = host.steps.filter { $0.secrets.contains("sql_password ← env:SQL_PW") }
            #expect(
                withPassword.map(\.definition.name) == [
                    "preflight", "restore", "quarantine", "connect-database", "start", "verify",
                ]
            )
            #expect(text.contains("secrets: master_key ← env:MASTER_KEY, sql_password ← env:SQL_PW"))
            #expect(text.contains("database: OctopusOctopusServerClone on sql.example, SQL login octoprov"))
            #expect(
                text.contains(
                    "container: octopus-octopusserver from octopusdeploy/octopusdeploy:2023.3.13026, SQL login octoprov"
                )
            )
            try plan.write(to: directory + "/out")
            let written = try fileTree(directory + "/out").values.map { String(decoding: $0, as: UTF8.self) }
            #expect(!text.contains("sql-login-password-value"))
            #expect(written.allSatisfy { !$0.contains("sql-login-password-value") })
        }
        // On the other platforms the login is not used, and so no step needs its password.
        let standin = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                1: "defaults: {sql_password: env:SQL_PW}\nhosts:",
                5: "    platform: standin\n    vars: {sql_user: octoprov}",
            ]
        )
        try withPlan(standin, environment: environment) { result, _ in
            let host = try #require(try result.get().hosts.first)
            #expect(host.steps.allSatisfy { $0.secrets.allSatisfy { !$0.hasPrefix("sql_password") } })
        }
    }

    @Test func aVariableRepeatingASecretStopsThePlan() throws {
        let master = CheckFixture.environment["MASTER_KEY"] ?? ""
        try withPlan(CheckFixture.yaml(CheckFixture.clone), variables: ["node_name=\(master)"]) { result, _ in
            guard case .failure(.templates(let errors)) = result else {
                Issue.record("expected template errors, got \(result)")
                return
            }
            #expect(errors.errors.allSatisfy { $0.code == .invalidValue })
            #expect(errors.description.contains("contains the value of a secret"))
            #expect(!errors.description.contains(master))
        }
    }

    @Test func planTextAndFilesAreDeterministic() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [9: "    hosts: [all]"],
            adding: [
                "    folders: {task_logs: production/TaskLogs, packages: production/Packages}",
                "groups:", "  all:", "    members: [vm2, vm1]",
            ]
        )
        .replacingOccurrences(
            of: "instances:",
            with: "  vm2:\n    address: 127.0.0.2\n    user: root\n    platform: standin\ninstances:"
        )
        try withPlan(yaml) { first, directory in
            let plan = try first.get()
            #expect(plan.hosts.map(\.host.name) == ["vm1", "vm2"])
            try plan.write(to: directory + "/a")
            try plan.write(to: directory + "/b")
            try plan.write(to: directory + "/b")
            #expect(try fileTree(directory + "/a") == fileTree(directory + "/b"))
            let library = try TemplateLibrary(directory: directory + "/templates")
            var environment = CheckFixture.environment
            environment["HOME"] = directory + "/home"
            let again = try ProvisioningPlan.build(
                check: InventoryCheck.run(path: directory + "/inventory.yml", environment: environment),
                templates: library
            )
            #expect(again.lines == plan.lines)
            try again.write(to: directory + "/c")
            #expect(try fileTree(directory + "/a") == fileTree(directory + "/c"))
            #expect(plan.lines.contains("     task_logs: production/TaskLogs → /var/lib/octopus/TaskLogs"))
        }
    }

    @Test func outputLayoutReplacesOnlyEarlierPlanFiles() throws {
        try withPlan(CheckFixture.yaml(CheckFixture.clone)) { result, directory in
            let plan = try result.get()
            let output = directory + "/out"
            try FileManager.default.createDirectory(
                atPath: output + "/lab/vm1/kept.sql",
                withIntermediateDirectories: true
            )
            let others = ["lab/vm1/notes.txt", "lab/vm1/kept.sql/inside.sql", "keep.txt"]
            for file in ["lab/vm1/99-old.sh", "lab/vm1/old.sql", "lab/vm1/restore.sql"] + others {
                try "x".write(toFile: output + "/" + file, atomically: true, encoding: .utf8)
            }
            let written = try plan.write(to: output)
            // The host's folder is what its work_dir gets: the scripts, and the T-SQL under the names they read.
            #expect(
                written == [
                    "lab/vm1/01-preflight.sh", "lab/vm1/02-install.sh", "lab/vm1/04-restore.sh",
                    "lab/vm1/05-quarantine.sh", "lab/vm1/06-create-instance.sh", "lab/vm1/07-connect-database.sh",
                    "lab/vm1/08-configure.sh", "lab/vm1/09-set-paths.sh", "lab/vm1/11-admin.sh", "lab/vm1/12-start.sh",
                    "lab/vm1/13-verify.sh", "lab/vm1/database-exists.sql", "lab/vm1/restore-filelist.sql",
                    "lab/vm1/restore.sql", "lab/vm1/verify-quarantine.sql", "lab/vm1/quarantine.sql",
                    "lab/vm1/rows-and-spaces.sql",
                ]
            )
            let tree = try fileTree(output)
            #expect(Set(tree.keys) == Set(written + others))
            #expect(tree["lab/vm1/restore.sql"] != Data("x".utf8))
            let connect = String(decoding: tree["lab/vm1/07-connect-database.sh"] ?? Data(), as: UTF8.self)
            #expect(
                connect.contains(
                    "printf '%s=%s\\n' connection_string 'Server=localhost;Database=OctopusOctopusServerClone;Trusted_Connection=True;'"
                )
            )
        }
    }

    @Test func instanceAndLimitSelectHostPlans() throws {
        // A second instance on a second host (octoprov puts one instance on a host).
        let secondHost = ["  vm2:", "    address: 127.0.0.2", "    user: root", "    platform: standin"]
        let yaml = CheckFixture.yaml(
            Array(CheckFixture.clone.prefix(5)) + secondHost + Array(CheckFixture.clone[5...]),
            adding: Array(CheckFixture.clone[6...]).map {
                $0.replacingOccurrences(of: "  lab:", with: "  lab2:").replacingOccurrences(of: "[vm1]", with: "[vm2]")
            }
        )
        try withPlan(yaml, instance: "lab2") { result, _ in
            let hosts = try result.get().hosts
            #expect(hosts.map(\.instance.name) == ["lab2"])
        }
        try withPlan(yaml, instance: "lba") { result, _ in
            guard case .failure(.invalidInput(let errors)) = result else {
                Issue.record("expected invalid input, got \(result)")
                return
            }
            #expect(errors.map(\.keyPath) == ["--instance"])
            #expect(errors.first?.description.contains("Did you mean `lab`?") == true)
        }
        try withPlan(yaml, limit: "vm7") { result, _ in
            guard case .failure(.invalidInput(let errors)) = result else {
                Issue.record("expected invalid input, got \(result)")
                return
            }
            #expect(errors.map(\.keyPath) == ["--limit"])
            #expect(
                errors.first?.description
                    == "--limit: --limit pattern `vm7` matches no host; the inventory has vm1, vm2."
            )
        }
        try withPlan(yaml, limit: "vm*") { result, _ in
            let hosts = try result.get().hosts
            #expect(hosts.map { "\($0.instance.name)/\($0.host.name)" } == ["lab/vm1", "lab2/vm2"])
        }
        try withPlan(yaml, limit: "vm2") { result, _ in
            let hosts = try result.get().hosts
            #expect(hosts.map { "\($0.instance.name)/\($0.host.name)" } == ["lab2/vm2"])
        }
    }

    @Test func anInvalidInventoryIsNotPlanned() throws {
        try withPlan(CheckFixture.yaml(CheckFixture.clone), environment: [:]) { result, _ in
            guard case .failure(.invalidInput(let errors)) = result else {
                Issue.record("expected invalid input, got \(result)")
                return
            }
            #expect(errors.map(\.code) == [.secretNotSet])
        }
        try withPlan(CheckFixture.yaml(Array(CheckFixture.clone.prefix(5)))) { result, _ in
            guard case .failure(.invalidInput(let errors)) = result else {
                Issue.record("expected invalid input, got \(result)")
                return
            }
            #expect(errors.map(\.keyPath) == ["instances"])
            // The file as a whole, at line 1, like every other refusal of the inventory: FILE:LINE:COLUMN.
            #expect(errors.map(\.location.line) == [1])
            #expect(errors.first?.description.contains("inventory.yml:1:1: The inventory has no `instances`") == true)
        }
    }

    @Test func verifyExpectsTheQuarantineStepsCountsAndRowsOutsideSpaces() throws {
        try withPlan(CheckFixture.yaml(CheckFixture.clone)) { result, _ in
            let host = try #require(try result.get().hosts.first)
            var facts = [
                "machines": "14", "workers": "2", "triggers": "3", "subscriptions": "1", "projects": "5",
                "spaces": "2",
                "rows_outside_spaces": "Machine Machines-13 (Spaces-99), Machine Machines-14 (Spaces-99)",
            ]
            let expectations = RESTVerifier.expectations(host, facts: facts)
            #expect(
                expectations.counts
                    == ExpectedCounts(targets: 14, workers: 2, triggers: 3, subscriptions: 1, projects: 5, spaces: 2)
            )
            #expect(expectations.rowsOutsideSpaces == facts["rows_outside_spaces"])
            // None (an empty fact), or a journal from before the fact existed.
            facts["rows_outside_spaces"] = ""
            #expect(RESTVerifier.expectations(host, facts: facts).rowsOutsideSpaces == nil)
            facts["rows_outside_spaces"] = nil
            #expect(RESTVerifier.expectations(host, facts: facts).rowsOutsideSpaces == nil)
        }
    }
}

@Suite struct TemplateFolderTests {
    @Test func theFolderAboveTheExecutableIsFound() throws {
        let files = [
            FixtureFile(path: "repo/Templates/standin/preflight.sh", contents: "true\n"),
            FixtureFile(path: "repo/.build/x86_64-unknown-linux-gnu/debug/octoprov", contents: "", mode: 0o755),
        ]
        try withTemporaryDirectory(files) { directory in
            let build = directory + "/repo/.build"
            try FileManager.default.createSymbolicLink(
                atPath: build + "/debug",
                withDestinationPath: "x86_64-unknown-linux-gnu/debug"
            )
            let found = try TemplateFolder.locate(explicit: nil, executablePath: build + "/debug/octoprov")
            #expect(found == directory + "/repo/Templates")
            #expect(
                try TemplateFolder.locate(explicit: directory + "/repo", executablePath: "/") == directory + "/repo"
            )
            let missing = #expect(throws: TemplateErrors.self) {
                try TemplateFolder.locate(explicit: directory + "/nope", executablePath: "/")
            }
            #expect(missing?.description.contains("`--templates` names no folder") == true)
            let none = #expect(throws: TemplateErrors.self) {
                try TemplateFolder.locate(explicit: nil, executablePath: directory + "/octoprov")
            }
            #expect(none?.description.contains("pass `--templates DIR`") == true)
        }
    }
}
