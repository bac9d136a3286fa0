import Foundation
import Sandbox
import TestHelpers
import Testing
import Wire

/// `octoprov plan` on the inventory `octoprov sandbox up` writes, through the built binary, with the repository's
/// own templates: every clone step for every VM, secrets by reference only, the same bytes on every run.
@Suite("octoprov plan on a sandbox", .tags(.large))
struct PlanSandboxLiveTests {
    /// The clone flow's steps as `plan` numbers them on a host (docs/steps.md).
    static let cloneSteps = [
        "preflight", "install", "upload-backup", "restore", "quarantine", "create-instance", "connect-database",
        "configure", "set-paths", "copy-folders", "admin", "start", "verify", "report",
    ]

    /// The files each VM's folder of `plan --output` holds: the host steps' scripts and the T-SQL under the names
    /// the scripts read from `work_dir`.
    static let hostFiles = [
        "01-preflight.sh", "02-install.sh", "04-restore.sh", "05-quarantine.sh", "06-create-instance.sh",
        "07-connect-database.sh", "08-configure.sh", "09-set-paths.sh", "11-admin.sh", "12-start.sh", "13-verify.sh",
        "database-exists.sql", "quarantine.sql", "restore-filelist.sql", "restore.sql", "rows-and-spaces.sql",
        "verify-quarantine.sql",
    ]

    @Test func planOnTheSandboxInventoryListsEveryCloneStepAndIsDeterministic() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-plan-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("sbx").path
        let output = base.appendingPathComponent("plan").path
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov(["sandbox", "up", "--vms", "2", "--dir", directory])
        #expect(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        // Whatever happens below, never leave the sandbox running.
        defer { _ = try? SandboxControl.down(layout) }
        let state = try #require(SandboxState.read(from: layout))
        let vms = state.vms.map(\.name)
        #expect(vms == ["vm1", "vm2"])

        let first = try await octoprov(["plan", "-i", layout.inventoryPath, "--output", output])
        #expect(first.status == 0, "\(first.stderr)")
        let firstFiles = try Self.fileTree(output)
        let second = try await octoprov(["plan", "-i", layout.inventoryPath, "--output", output])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Data(first.stdout.utf8) == Data(second.stdout.utf8))
        #expect(first.stderr == second.stderr)
        #expect(try Self.fileTree(output) == firstFiles)

        // Every clone step, in order, for every VM.
        let text = first.stdout
        #expect(text.hasPrefix("Plan for \(layout.inventoryPath): 1 instance, \(vms.count) host plans; "))
        for vm in vms {
            let section = try #require(text.range(of: "sandbox-clone on \(vm) (standin): clone of Octopus "))
            let rest = text[section.upperBound...]
            let next = rest.range(of: "\nsandbox-clone on ")?.lowerBound ?? rest.endIndex
            let stepLines = rest[..<next].split(separator: "\n").filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            let expected = Self.cloneSteps.enumerated().map { String(format: "%02d ", $0.offset + 1) + $0.element }
            #expect(
                stepLines.map { String($0.dropFirst(2).prefix { $0 != " " }) + " " + Self.stepName($0) } == expected
            )
            #expect(rest[..<next].contains("     secrets: master_key ← file:production/master-key"))
            #expect(
                firstFiles.keys.filter { $0.hasPrefix("sandbox-clone/\(vm)/") }.sorted()
                    == Self.hostFiles.map { "sandbox-clone/\(vm)/\($0)" }.sorted()
            )
        }
        #expect(first.stderr.contains("Wrote \(Self.hostFiles.count * vms.count) files under \(output)."))

        // The scripts are rendered for each VM's own folders, and never hold the Master Key.
        let restore = String(decoding: firstFiles["sandbox-clone/vm2/04-restore.sh"] ?? Data(), as: UTF8.self)
        let vm2 = try #require(state.vms.last)
        #expect(restore.contains("readonly sql_data_root='\(vm2.rootDirectory)/var/lib/octopus-standin'"))
        let quarantine = String(decoding: firstFiles["sandbox-clone/vm2/05-quarantine.sh"] ?? Data(), as: UTF8.self)
        #expect(quarantine.contains("readonly mode='clone'"))
        let masterKey = try String(contentsOfFile: layout.productionDirectory + "/master-key", encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        try #require(masterKey.count >= 8)
        #expect(!text.contains(masterKey) && !first.stderr.contains(masterKey))
        for (path, contents) in firstFiles {
            #expect(!String(decoding: contents, as: UTF8.self).contains(masterKey), "\(path) holds the Master Key")
        }

        let down = try await octoprov(["sandbox", "down", "--dir", directory])
        #expect(down.status == 0, "\(down.stderr)")
    }

    /// `NN name` of a plan's step line (`  04 restore [host]`).
    private static func stepName(_ line: Substring) -> String {
        String(line.dropFirst(5).prefix { $0 != " " })
    }

    /// Every regular file under `directory`, relative path to contents.
    private static func fileTree(_ directory: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return result }
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return result
    }
}
