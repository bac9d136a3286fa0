import Foundation
import Provisioning
import TestHelpers
import Testing

/// `octoprov inventory check` and `octoprov plan` as a person runs them: the built binary, its output and its
/// exit status.
@Suite("inventory check and plan commands", .tags(.cli))
struct InventoryCLITests {
    static func run(
        _ arguments: [String],
        yaml: String,
        environment: [String: String] = CheckFixture.environment,
        templates: Bool = false
    ) throws -> CommandOutput {
        let files =
            CheckFixture.files + [FixtureFile(path: "inventory.yml", contents: yaml)]
            + (templates ? TestTemplates.files() : [])
        return try withTemporaryDirectory(files) { directory in
            try runOctoprovCommand(arguments, in: directory, environment: environment)
        }
    }

    @Test func checkOfAValidInventoryExits0WithASummary() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [5: "    platform: standin\n  vm2: {address: 127.0.0.2, user: root}"],
            adding: ["groups: {labs: {members: [vm1]}}"]
        )
        let result = try Self.run(["inventory", "check", "-i", "inventory.yml"], yaml: yaml)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")
        #expect(
            result.stdout == """
                inventory.yml is valid.
                  hosts: 2 (standin 1, no platform 1)
                  groups: 1 (labs)
                  instances: 1
                    lab  clone          Octopus 2023.3.13026  standin          vm1

                """
        )
    }

    @Test func checkOfABrokenInventoryReportsEveryProblemAndExits64() throws {
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            replacing: [
                5: "    platform: standn", 10: "    version: 2023.03.1", 13: "    master_key: s3cr3t-inline-key",
            ],
            adding: ["    quarantine: {targets: false}", "hots: {}"]
        )
        let result = try Self.run(["inventory", "check", "-i", "inventory.yml", "--var", "comms_port"], yaml: yaml)
        #expect(result.status == 64)
        #expect(result.stdout == "")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.map { $0.split(separator: " ").first.map(String.init) ?? "" } == [
                "--var:", "inventory.yml:5:15:", "inventory.yml:10:14:", "inventory.yml:13:17:", "inventory.yml:14:27:",
                "inventory.yml:15:1:", "inventory.yml:",
            ]
        )
        #expect(lines.last == "inventory.yml: 6 problems; nothing was touched.")
        #expect(result.stderr.contains("did you mean `standin`?"))
        #expect(result.stderr.contains("did you mean `hosts`?"))
        #expect(!result.stderr.contains("s3cr3t"))
    }

    @Test func checkRefusesAMissingFile() throws {
        try withTemporaryDirectory { directory in
            let result = try runOctoprovCommand(["inventory", "check", "-i", "nope.yml"], in: directory)
            #expect(result.status == 64)
            #expect(result.stderr.hasPrefix("nope.yml: The inventory file does not exist.\n"))
        }
    }

    @Test func planPrintsTheStepsAndWarningsAndRedactsSecrets() throws {
        // A 7-character admin password is below the length `plan` hunts for in scripts, so it may be rendered
        // through `sql_server`; every line octoprov prints still hides it.
        let yaml = CheckFixture.yaml(
            CheckFixture.clone,
            adding: [
                "    admin: {username: breakglass, password: env:SHORT_PW}",
                "    quarantine: {server_uri: false, acknowledge: [server_uri]}",
            ]
        )
        var environment = CheckFixture.environment
        environment["SHORT_PW"] = "Zq7!xw9"
        let result = try Self.run(
            ["plan", "-i", "inventory.yml", "--templates", "templates", "--var", "sql_server=Zq7!xw9"],
            yaml: yaml,
            environment: environment,
            templates: true
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("inventory.yml:15:30: warning: Quarantine `server_uri` is off (acknowledged)"))
        #expect(result.stdout.contains("  07 connect-database [host]\n"))
        #expect(result.stdout.contains("     secrets: master_key ← env:MASTER_KEY\n"))
        #expect(result.stdout.contains("     connection: Server=***;Database=OctopusOctopusServerClone;"))
        #expect(result.stdout.contains("     OFF (acknowledged): server_uri\n"))
        #expect(!result.stdout.contains("Zq7!xw9"))
        #expect(!result.stderr.contains("Zq7!xw9"))
    }

    @Test func planExits64ForBadSelectionsAndMissingTemplates() throws {
        let yaml = CheckFixture.yaml(CheckFixture.clone)
        let unknown = try Self.run(
            ["plan", "-i", "inventory.yml", "--templates", "templates", "--instance", "lba"],
            yaml: yaml,
            templates: true
        )
        #expect(unknown.status == 64)
        #expect(
            unknown.stderr == "--instance: No instance `lba` in the inventory, which has lab. Did you mean `lab`?\n"
        )
        let limit = try Self.run(
            ["plan", "-i", "inventory.yml", "--templates", "templates", "--limit", "web*"],
            yaml: yaml,
            templates: true
        )
        #expect(limit.status == 64)
        #expect(limit.stderr.contains("--limit pattern `web*` matches no host"))
        let noTemplates = try Self.run(["plan", "-i", "inventory.yml", "--templates", "templates"], yaml: yaml)
        #expect(noTemplates.status == 64)
        #expect(noTemplates.stderr.contains("`--templates` names no folder."))
        #expect(noTemplates.stdout == "")
    }
}
