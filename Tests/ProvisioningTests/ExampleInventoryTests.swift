import Foundation
import Provisioning
import TestHelpers
import Testing

/// One of the repository's example inventories, with the placeholders its header lists.
struct ExampleInventory: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String

    var testDescription: String { name }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Inventories")

    static let all: [ExampleInventory] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".yml") }.sorted().map { name in
            ExampleInventory(
                name: name,
                text: (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
            )
        }
    }()

    /// The header's `#   KIND  PATH-OR-NAME` lines: `file`, `folder`, `secret` (a 0600 file) and `env`.
    var requirements: [(kind: String, value: String)] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("#   ") else { return nil }
            let words = line.dropFirst(4).split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, ["file", "folder", "secret", "env"].contains(words[0]) else { return nil }
            return (String(words[0]), String(words[1]))
        }
    }

    /// Placeholder files for the header's `file`, `folder` and `secret` lines, and the example itself.
    var files: [FixtureFile] {
        var files = [FixtureFile(path: name, contents: text)]
        for requirement in requirements {
            switch requirement.kind {
            case "file":
                files.append(FixtureFile(path: requirement.value, contents: "placeholder for \(requirement.value)\n"))
            case "folder":
                files.append(FixtureFile(path: requirement.value + "/.keep", contents: ""))
            case "secret":
                files.append(
                    FixtureFile(path: requirement.value, contents: "secret for \(requirement.value)\n", mode: 0o600)
                )
            default:
                break
            }
        }
        return files
    }

    /// Values for the header's `env` lines.
    var environment: [String: String] {
        var environment: [String: String] = [:]
        for requirement in requirements where requirement.kind == "env" {
            environment[requirement.value] = "placeholder-\(requirement.value)-value"
        }
        return environment
    }

    /// Every secret value the placeholders hold.
    var secrets: [String] {
        Array(environment.values) + requirements.filter { $0.kind == "secret" }.map { "secret for \($0.value)" }
    }

    var hasInstances: Bool { text.contains("\ninstances:") }
}

@Suite("Example inventories", .tags(.examples))
struct ExampleInventoryTests {
    @Test func thereAreTheExpectedExamples() {
        #expect(
            ExampleInventory.all.map(\.name) == [
                "linux-container-clone.yml", "ssh-only.yml", "test-instance.yml", "windows-clone.yml",
            ]
        )
    }

    @Test(arguments: ExampleInventory.all)
    func exampleIsValidWithTheFilesItsHeaderLists(_ example: ExampleInventory) throws {
        try #require(!example.requirements.isEmpty, "\(example.name) lists no placeholders")
        try withTemporaryDirectory(example.files) { directory in
            var environment = example.environment
            environment["HOME"] = directory
            let check = InventoryCheck.run(path: directory + "/" + example.name, environment: environment)
            #expect(check.errors.isEmpty, "\(check.errors.map(\.description).joined(separator: "\n"))")
            #expect(check.warnings.isEmpty, "\(check.warnings.map(\.description).joined(separator: "\n"))")
            // Without the placeholders, each missing one is reported as missing or unset, and nothing else.
            try withTemporaryDirectory([FixtureFile(path: example.name, contents: example.text)]) { empty in
                let missing = InventoryCheck.run(path: empty + "/" + example.name, environment: ["HOME": empty])
                let text = missing.errors.map(\.description).joined(separator: "\n")
                #expect(missing.errors.allSatisfy { [.fileNotFound, .secretNotSet].contains($0.code) }, "\(text)")
                for requirement in example.requirements {
                    let named =
                        requirement.kind == "env"
                        ? "environment variable \(requirement.value)"
                        : "/" + (requirement.value.split(separator: "/").first.map(String.init) ?? "")
                    #expect(text.contains(named), "\(example.name): nothing says \(requirement.value) is missing")
                }
                #expect(text.contains("does not exist") || text.contains("is not set"))
            }
        }
    }

    /// The repository's own Templates folder.
    static let repositoryTemplates = ExampleInventory.folder.deletingLastPathComponent().appendingPathComponent(
        "Templates"
    ).path

    /// Plans each example with the test templates (every variable of the contract in every step) and with the
    /// repository's real templates (what `octoprov plan` renders for a person).
    @Test(arguments: ExampleInventory.all.filter(\.hasInstances), ["templates", repositoryTemplates])
    func planSucceedsAndIsByteForByteDeterministic(_ example: ExampleInventory, templates: String) throws {
        try withTemporaryDirectory(example.files + TestTemplates.files()) { directory in
            let arguments = ["plan", "-i", example.name, "--templates", templates, "--output"]
            let first = try runOctoprovCommand(arguments + ["out1"], in: directory, environment: example.environment)
            #expect(first.status == 0, "\(first.stderr)")
            let second = try runOctoprovCommand(arguments + ["out2"], in: directory, environment: example.environment)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(Data(first.stdout.utf8) == Data(second.stdout.utf8))
            let one = try fileTree(directory + "/out1")
            #expect(!one.isEmpty)
            #expect(one == (try fileTree(directory + "/out2")))
            #expect(first.stdout.hasPrefix("Plan for \(example.name): "))
            let output = first.stdout + first.stderr + one.values.map { String(decoding: $0, as: UTF8.self) }.joined()
            for secret in example.secrets {
                #expect(!output.contains(secret), "\(example.name) printed or wrote a secret")
            }
            let check = try runOctoprovCommand(
                ["inventory", "check", "-i", example.name],
                in: directory,
                environment: example.environment
            )
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.hasPrefix("\(example.name) is valid."))
        }
    }
}
