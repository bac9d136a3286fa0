import Foundation
import LoopbackVMs
import OctopusStandIn
import Provisioning
import Sandbox
import Synchronization
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// `octoprov provision` against `octoprov sandbox`, through the built binary (issue 5's acceptance): three VMs
/// cloned in parallel from the seeded backup without a single contact with "production", a rerun that changes
/// nothing, a run killed during the folder copy that resumes without resending what was copied, and no secret in
/// any output, report, journal, VM log or VM process's arguments.
@Suite("octoprov provision on a sandbox", .tags(.large))
struct ProvisionLiveTests {
    /// Each seeded package's size: the server folders are then about 420 MB, so that copying them takes a while as
    /// a real clone's does, and a rerun's tenth of the first run is measured against real work even on a loaded
    /// machine.
    static let packageSize = 70_000_000

    @Test func threeClonesInParallelNeverTouchProductionAndARerunChangesNothing() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-prov-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("sbx").path
        let stateDirectory = base.appendingPathComponent("state").path
        let reports = base.appendingPathComponent("reports").path
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov([
            "sandbox", "up", "--vms", "4", "--dir", directory, "--package-size", String(Self.packageSize),
        ])
        try #require(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        defer { _ = try? SandboxControl.down(layout) }
        let state = try #require(SandboxState.read(from: layout))
        let seed = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(layout.productionDirectory)/seed.json"))
        )
        let summary = try #require(seed as? [String: Any])
        let productionInstallationId = try #require(summary["installationId"] as? String)
        let common = ["-i", layout.inventoryPath, "--state-dir", stateDirectory]

        // Every process's arguments while octoprov runs, to search for secrets afterwards.
        let arguments = ArgumentSampler()
        arguments.start()

        // 1. Three VMs in parallel, from nothing to verified clones.
        let clock = ContinuousClock()
        var started = clock.now
        let first = try await octoprov(
            ["provision"] + common + [
                "--limit", "vm1,vm2,vm3", "--parallel", "3", "--report-json", "\(reports)/first.json",
                "--junit", "\(reports)/first.xml",
            ]
        )
        let firstDuration = started.duration(to: clock.now)
        #expect(first.status == 0, "\(first.stderr)")
        for vm in ["vm1", "vm2", "vm3"] {
            #expect(first.stderr.contains("sandbox-clone/\(vm)  ok"), "\(first.stderr)")
            #expect(first.stderr.contains("\(vm) [13 verify] ok"), "\(first.stderr)")
        }
        #expect(first.stderr.contains("3 of 3 host(s) succeeded"))

        // Nothing reached production's targets, webhooks or server, during the run or since.
        try await Task.sleep(for: .seconds(2))
        #expect(
            SandboxControl.contacts(layout).filter { !$0.fromProduction }.isEmpty,
            "\(SandboxControl.contacts(layout))"
        )

        for vm in state.vms.prefix(3) {
            // The stand-in's start audit: the first start already saw a quarantined database.
            let audit = try Self.startAudits(vm)
            let firstStart = try #require(audit.first)
            for field in [
                "OtherServerNodes", "EnabledTargets", "EnabledWorkers", "EnabledTriggers", "EnabledSubscriptions",
                "QueuedTasks",
            ] {
                #expect(firstStart[field] as? Int == 0, "\(vm.name) \(field): \(firstStart)")
            }
            #expect(firstStart["InstallationId"] as? String != productionInstallationId)

            // The clone serves the seeded projects, and an encrypted value decrypts with production's key.
            let apiKey = try String(contentsOfFile: "\(layout.productionDirectory)/api-key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let client = try OctopusClient(baseURL: "http://\(vm.address):\(vm.webPort ?? 8080)", apiKey: apiKey)
            let projectNames = try #require(summary["projectNames"] as? [String: [String]])
            for (space, names) in projectNames {
                let served = try await client.list(.projects, in: .space(space)).compactMap(\.name)
                #expect(served.sorted() == names.sorted(), "\(vm.name) \(space)")
            }
            #expect(try Self.decryptedAccountPassword(vm: vm, layout: layout) == "s3cret-1")

            // Everything octoprov wrote in the work folder is private (issue 17): the folder 0700, the backup (it
            // holds production's encrypted secrets and hash of every password and API key) and every script and
            // T-SQL file readable by their owner only.
            let workDirectory = vm.rootDirectory + "/tmp/octoprov"
            let modes = try Self.modes(workDirectory)
            #expect(modes["."] == 0o700, "\(vm.name): \(modes)")
            #expect(modes.keys.contains { $0.hasSuffix(".bak") }, "\(vm.name): no backup in \(modes)")
            let open = modes.filter { $0.value & 0o077 != 0 }
            #expect(open.isEmpty, "\(vm.name): readable by group or others: \(open)")
        }

        // The reports: every host and step, and every verify check passed.
        let firstReport = try String(contentsOfFile: "\(reports)/first.xml", encoding: .utf8)
        #expect(firstReport.contains("failures=\"0\""))
        #expect(firstReport.contains("targets_disabled"))
        let firstJSON = try Data(contentsOf: URL(fileURLWithPath: "\(reports)/first.json"))
        let parsed = try ProvisionReport(json: firstJSON)
        #expect(parsed.instances.first?.hosts.map(\.name) == ["vm1", "vm2", "vm3"])
        let hosts = parsed.instances.first?.hosts ?? []
        #expect(hosts.allSatisfy { $0.checks.count == 9 && $0.checks.allSatisfy(\.passed) })

        // 2. The same command again: every step ok, nothing changed, in under a tenth of the time.
        started = clock.now
        let second = try await octoprov(
            ["provision"] + common + [
                "--limit", "vm1,vm2,vm3", "--parallel", "3", "--report-json", "\(reports)/second.json",
            ]
        )
        let secondDuration = started.duration(to: clock.now)
        #expect(second.status == 0, "\(second.stderr)")
        let again = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(reports)/second.json")))
        let steps = again.instances.flatMap(\.hosts).flatMap(\.steps)
        #expect(steps.count == 3 * 14)
        #expect(steps.allSatisfy { $0.status == .ok }, "\(steps.filter { $0.status != .ok })")
        #expect(secondDuration < firstDuration / 10, "first \(firstDuration), second \(secondDuration)")
        for vm in state.vms.prefix(3) {
            #expect(try Self.startAudits(vm).count == 1, "\(vm.name) was started again")
        }

        // 3. Killed during the folder copy, then run again: the copy resumes and the folders are identical.
        let vm4 = state.vms[3]
        let killed = try await offPool {
            try runOctoprovKilled(
                ["provision"] + common + ["--limit", "vm4"],
                when: { $0.contains("vm4 [copy-folders] server folders: ") && !$0.contains(": 0 B of") }
            )
        }
        #expect(killed, "octoprov was not seen copying the server folders")
        let resumed = try await octoprov(
            ["provision"] + common + ["--limit", "vm4", "--report-json", "\(reports)/vm4.json"]
        )
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let vm4Report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: "\(reports)/vm4.json")))
        let copy = try #require(vm4Report.instances.first?.hosts.first?.steps.first { $0.name == "copy-folders" })
        let totalBytes = (summary["folderBytes"] as? [String: Int])?.values.reduce(0, +) ?? 0
        // "Copied N of M files (B bytes): …": what was copied before the kill, renamed into place or left as a
        // part, is not sent again, so fewer bytes than the folders hold cross the network.
        let message = copy.message ?? ""
        let sentBytes = message.split(separator: "(").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(copy.status == .changed, "\(message)")
        #expect((sentBytes ?? .max) < totalBytes, "\(message); the folders hold \(totalBytes) bytes")
        for folder in ["Packages", "Artifacts", "TaskLogs", "EventExports", "Imports"] {
            #expect(
                try Self.tree("\(layout.productionDirectory)/folders/\(folder)")
                    == Self.tree("\(vm4.rootDirectory)/octopus/\(folder)"),
                "\(folder) differs on vm4"
            )
        }
        #expect(SandboxControl.contacts(layout).filter { !$0.fromProduction }.isEmpty)

        // 4. A second run while another holds the instance's journal is refused, naming the holder's PID.
        let journal = JournalLocation.journalPath(
            stateDirectory: stateDirectory,
            inventoryPath: JournalLocation.canonicalInventoryPath(layout.inventoryPath),
            instance: "sandbox-clone"
        )
        let holderOutput = stateDirectory + "/holder.out"
        let holder = try TestProcess.start(
            "/usr/bin/python3",
            [
                "-c",
                "import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
                    + "print('locked', flush=True)\ntime.sleep(60)",
                JournalLocation.lockPath(forJournal: journal),
            ],
            outputPath: holderOutput
        )
        defer { holder.terminate() }
        let lockedBy = Date().addingTimeInterval(30)
        while (try? String(contentsOfFile: holderOutput, encoding: .utf8)) != "locked\n", Date() < lockedBy {
            usleep(10_000)
        }
        let refused = try await octoprov(["provision"] + common + ["--limit", "vm1"])
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(holder.processIdentifier)"), "\(refused.stderr)")
        holder.terminate()

        // 5. No secret anywhere: outputs, reports, journals, the VMs' logs and files, process arguments.
        arguments.stop()
        let journalFiles = try FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/journal")
            .filter { !$0.hasSuffix(".secrets.json") && !$0.hasSuffix(".lock") }
            .map { stateDirectory + "/journal/" + $0 }
        let generatedKeys = try Self.generatedAPIKeys(stateDirectory)
        #expect(generatedKeys.count == 4)
        let secrets =
            [
                try String(contentsOfFile: "\(layout.productionDirectory)/master-key", encoding: .utf8),
                try String(contentsOfFile: "\(layout.productionDirectory)/admin-password", encoding: .utf8),
            ].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } + generatedKeys
        var haystacks: [(String, String)] = [
            ("output", first.stdout + first.stderr + second.stdout + second.stderr + resumed.stdout + resumed.stderr),
            ("process arguments", arguments.seen.joined(separator: "\n")),
        ]
        for file in try FileManager.default.contentsOfDirectory(atPath: reports) {
            haystacks.append((file, try String(contentsOfFile: "\(reports)/\(file)", encoding: .utf8)))
        }
        for file in journalFiles {
            haystacks.append((file, String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)))
        }
        for vm in state.vms {
            for folder in ["\(vm.rootDirectory)/octopus/Logs", "\(vm.rootDirectory)/tmp/octoprov"] {
                for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                    let path = "\(folder)/\(file)"
                    guard let data = FileManager.default.contents(atPath: path), data.count < 5_000_000 else {
                        continue
                    }
                    haystacks.append((path, String(decoding: data, as: UTF8.self)))
                }
            }
        }
        #expect(arguments.seen.count > 10, "the sampler saw too few processes")
        for secret in secrets {
            try #require(secret.count >= 8)
            let forms = [secret, Data(secret.utf8).base64EncodedString()]
            for (name, text) in haystacks {
                for form in forms {
                    #expect(!text.contains(form), "a secret is in \(name)")
                }
            }
        }
    }

    // MARK: - Helpers

    /// The start audits of a VM's clone, oldest first.
    static func startAudits(_ vm: SandboxState.VM) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: "\(vm.rootDirectory)/octopus/Logs/standin-audit.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["Event"] as? String == "start" }
    }

    /// The first seeded account's password, read from the clone's database on the VM and decrypted with
    /// production's Master Key.
    static func decryptedAccountPassword(vm: SandboxState.VM, layout: SandboxLayout) throws -> String {
        let database = try SQLiteDatabase(
            path: "\(vm.rootDirectory)/var/lib/octopus-standin/localhost/octopusoctopusserverclone.sqlite"
        )
        let row = try database.query(
            "SELECT json_extract([JSON], '$.Password') FROM Account ORDER BY Id LIMIT 1"
        ).rows.first?.first?.text
        let keyText = try String(contentsOfFile: "\(layout.productionDirectory)/master-key", encoding: .utf8)
        let key = try MasterKey(base64: keyText.trimmingCharacters(in: .whitespacesAndNewlines))
        return try key.decrypt(try #require(row))
    }

    /// The API keys octoprov generated (the journal's secret file), one per host.
    static func generatedAPIKeys(_ stateDirectory: String) throws -> [String] {
        let folder = stateDirectory + "/journal"
        var keys: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".secrets.json") {
            let text = try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8)
            keys += text.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" })
                .map(String.init).filter { $0.hasPrefix("API-") }
        }
        return keys
    }

    /// Relative path → SHA-256 of every regular file under `directory`.
    /// The permission bits of `directory` (as `.`) and of everything below it, by relative path.
    static func modes(_ directory: String) throws -> [String: mode_t] {
        var result: [String: mode_t] = [:]
        for relative in ["."] + (FileManager.default.subpaths(atPath: directory) ?? []) {
            var info = stat()
            try #require(lstat(directory + "/" + relative, &info) == 0, "\(relative)")
            if info.st_mode & S_IFMT != S_IFLNK { result[relative] = info.st_mode & 0o7777 }
        }
        return result
    }

    static func tree(_ directory: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = "\(directory)/\(relative)"
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            result[relative] = try FileDigest.sha256(path: path)
        }
        return result
    }
}

/// Runs octoprov and SIGKILLs it as soon as a line of its standard error or output satisfies `condition`.
///
/// - Returns: Whether the condition was met (and the process killed) before it exited by itself.
func runOctoprovKilled(_ arguments: [String], when condition: @escaping @Sendable (String) -> Bool) throws -> Bool {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-\(UUID().uuidString)").path
    let outputPath = base + ".out"
    let errorPath = base + ".err"
    defer {
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }
    let process = try ChildProcess.launch(
        try BuiltProducts.path("octoprov"),
        arguments,
        environment: octoprovEnvironment(),
        outputPath: outputPath,
        errorPath: errorPath,
        input: nil
    )
    var killed = false
    while process.isRunning && !killed {
        usleep(10_000)
        // Both streams: step lines go to standard error, the hosts' own lines (`vm1 | …`) to standard output.
        for path in [errorPath, outputPath] where !killed {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            // Complete lines only: the last piece may still be written.
            if text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().contains(where: {
                condition(String($0))
            }) {
                process.send(SIGKILL)
                killed = true
            }
        }
    }
    process.waitForExit(timeout: 60)
    return killed && process.exitStatus == 128 + SIGKILL
}

/// Samples every process's command line (`/proc/PID/cmdline`) every few milliseconds on a thread of its own.
final class ArgumentSampler: Sendable {
    private let state = Mutex<(running: Bool, seen: Set<String>)>((false, []))

    var seen: [String] { state.withLock { Array($0.seen) } }

    func start() {
        state.withLock { $0.running = true }
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                var lines: [String] = []
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                where entry.allSatisfy(\.isNumber) {
                    guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
                    else { continue }
                    lines.append(String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self))
                }
                state.withLock { $0.seen.formUnion(lines) }
                usleep(5000)
            }
        }
        thread.start()
    }

    func stop() {
        state.withLock { $0.running = false }
    }
}
