import Foundation
import Provisioning
import Testing

/// Mutated inventories through `inventory check` and `plan` (issue 17): none may crash, hang or refuse without
/// naming the inventory's file and line, and an inventory the check accepts must plan with the repository's
/// templates. The mutations are drawn from a fixed seed, so a failure names a case that reproduces.
@Suite struct InventoryFuzzTests {
    /// A small deterministic generator (SplitMix64): the same seed gives the same cases on every machine.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Values as YAML writes them: special files, bounds, control and invisible characters, wrong types.
    static let hostileValues = [
        "''", "' '", "/dev/zero", "/dev/null", "pipe", "production", "/nonexistent/file", "\"a\\0b\"", "\"a\\nb\"",
        "\"a\\rb\"", "\"\\t\"", "\"x\\u200B\"", "\"\\uFEFFx\"", "\"\\u202Eevil\"", "' lead'", "'trail '",
        "'\(String(repeating: "a", count: 5000))'", "\"'; DROP TABLE x; --\"", "'$(id)'", "'`id`'", "[]", "{}", "-1",
        "0", "99999999999999999999", "null", "~", "../../etc/passwd", "'http://'", "'http://h:0'",
        "'http://h/\(String(repeating: "p", count: 4100))'", "日本語", "'C:\\Octopus'", "'*'", "'!vm1'", "yes",
        "\"\\x1B[31m\"", "'a;b'", "'\(String(repeating: "n", count: 129))'",
    ]

    /// Paths that are no regular file, or one that must not be used as an identity (`id_open` is 0644).
    static let specialFiles = [
        "/dev/zero", "/dev/null", "/dev/urandom", "pipe", "production", "/nonexistent", "id_open",
    ]

    /// Variables a host's `vars` may set, most of them bounded or checked.
    static let variables = [
        "server_uri", "web_listen_prefix", "database", "node_name", "instance_name", "sql_server", "comms_port",
        "home_dir", "work_dir", "install_dir", "sql_data_root", "container_name", "sql_user", "unknown_thing",
    ]

    /// One mutated inventory.
    static func mutate(_ base: [String], _ random: inout SplitMix64) -> [String] {
        var lines = base
        for _ in 0..<Int.random(in: 1...2, using: &random) {
            let value = hostileValues.randomElement(using: &random) ?? "''"
            let index = Int.random(in: 0..<lines.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0, 1:
                // A value replaced, whatever its key.
                if let colon = lines[index].firstIndex(of: ":") {
                    lines[index] = String(lines[index][...colon]) + " " + value
                }
            case 2:
                let name = variables.randomElement(using: &random) ?? "database"
                lines.insert("    vars: {\(name): \(value)}", at: 5)
            case 3:
                lines.remove(at: index)
                if lines.isEmpty { lines = ["hosts:"] }
            case 4:
                lines.insert(lines[index], at: index)
            case 5:
                // Indentation two spaces deeper or shallower.
                let line = lines[index]
                lines[index] =
                    Bool.random(using: &random) ? "  " + line : String(line.dropFirst(line.hasPrefix("  ") ? 2 : 0))
            default:
                // A file the inventory names, as a device, FIFO, folder, missing or open file.
                let file = specialFiles.randomElement(using: &random) ?? "pipe"
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    if let line = lines.firstIndex(where: { $0.hasPrefix("    backup:") }) {
                        lines[line] = "    backup: \(file)"
                    }
                case 1:
                    if let line = lines.firstIndex(where: { $0.hasPrefix("    package:") }) {
                        lines[line] = "    package: {sha256: \(CheckFixture.packageSHA256), file: \(file)}"
                    }
                case 2: lines.insert("    identity: \(file)", at: 4)
                default: lines.insert("    known_hosts: \(file)", at: 4)
                }
                if Bool.random(using: &random) {
                    lines.append("    admin: {username: \(value), email: \(value), password: env:ADMIN_PW}")
                }
            }
        }
        return lines
    }

    /// What one case ended with, or `nil` while it runs.
    final class Outcome: @unchecked Sendable {
        let lock = NSLock()
        var problems: [String]?
        var accepted = false
    }

    @Test func twoHundredFiftyMutatedInventoriesNeverCrashHangOrRefuseWithoutALine() throws {
        let templates = try TemplateLibrary(directory: ExampleInventoryTests.repositoryTemplates)
        var random = SplitMix64(state: 17)
        var accepted = 0
        var refused = 0
        try withTemporaryDirectory(CheckFixture.files + [FixtureFile(path: "id_open", contents: "k\n")]) {
            directory in
            try #require(mkfifo(directory + "/pipe", 0o600) == 0)
            for number in 0..<250 {
                let base = number % 2 == 0 ? CheckFixture.clone : CheckFixture.testInstance
                let yaml = Self.mutate(base, &random).joined(separator: "\n") + "\n"
                let path = directory + "/inventory-\(number).yml"
                try yaml.write(toFile: path, atomically: false, encoding: .utf8)
                var environment = CheckFixture.environment
                environment["HOME"] = directory + "/home"

                // On a thread of its own, so that a hang is a failed case rather than a stuck test run.
                let outcome = Outcome()
                let done = DispatchSemaphore(value: 0)
                let caseEnvironment = environment
                let runner = Thread {
                    var problems: [String] = []
                    let check = InventoryCheck.run(path: path, environment: caseEnvironment)
                    for error in check.errors {
                        let text = error.description
                        if error.location.file != path || error.location.line < 1
                            || !text.hasPrefix("\(path):\(error.location.line):")
                        {
                            problems.append("refused without its line: \(text)")
                        }
                        if text.contains("Optional(") || text.contains("(reason:") {
                            problems.append("Swift debug text in: \(text)")
                        }
                    }
                    if check.isValid, !check.inventory.instances.isEmpty {
                        do {
                            _ = try ProvisioningPlan.build(
                                check: check,
                                instance: nil,
                                limit: nil,
                                templates: templates
                            )
                        } catch {
                            problems.append("the check accepted it, but plan failed: \(error)")
                        }
                    }
                    outcome.lock.withLock {
                        outcome.problems = problems
                        outcome.accepted = check.isValid
                    }
                    done.signal()
                }
                runner.stackSize = 8 << 20
                runner.start()
                guard done.wait(timeout: .now() + 30) == .success else {
                    Issue.record("case \(number) did not finish within 30 s (a hang):\n\(yaml)")
                    continue
                }
                let (problems, wasAccepted) = outcome.lock.withLock { (outcome.problems ?? [], outcome.accepted) }
                #expect(problems.isEmpty, "case \(number):\n\(yaml)\n\(problems.joined(separator: "\n"))")
                if wasAccepted { accepted += 1 } else { refused += 1 }
            }
        }
        print("fuzz: \(refused) refused, \(accepted) accepted")
        // The mutations must reach both outcomes, or the fuzz tests nothing.
        #expect(refused >= 150, "only \(refused) of 250 cases were refused")
        #expect(accepted >= 5, "only \(accepted) of 250 cases were accepted")
    }
}
