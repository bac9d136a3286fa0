import Foundation
import LoopbackVMs
import Provisioning
import Sandbox
import TestHelpers
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5's failure scenarios, all in one `octoprov provision` run on one sandbox, through the built binary: one
/// failure per host (a wrong Master Key, a truncated backup, a backup from another version, a VM without disk
/// space, an SSH connection dropped during the restore) beside one healthy host. Each failing host ends with one
/// sentence naming its step and what to do, the others go on, no stand-in service runs on a host whose quarantine
/// did not complete, and a rerun after fixing the cause finishes the host.
@Suite("octoprov provision: failures", .tags(.large))
struct ProvisionFailureLiveTests {
    /// One host of the run: its instance, its VM, and how it must end.
    struct Scenario {
        var instance: String
        var vm: String
        /// The step that fails, or nil for the healthy host.
        var failingStep: String?
        /// How the failure's message starts: what went wrong.
        var cause: String = ""
        /// How it ends: what to do.
        var advice: String = ""
    }

    static let scenarios = [
        Scenario(instance: "healthy", vm: "vm1", failingStep: nil),
        Scenario(
            instance: "wrong-key",
            vm: "vm2",
            failingStep: "connect-database",
            cause: "The Master Key does not decrypt this database (Octopus.Server database: Padding is invalid); ",
            advice: "set master_key to the Master Key of the instance the backup came from, then run provision again."
        ),
        Scenario(
            instance: "corrupt-backup",
            vm: "vm3",
            failingStep: "restore",
            cause: "The backup is damaged or incomplete (RESTORE FILELISTONLY cannot read it; ",
            advice: "copy a complete backup to the inventory's backup path, then run provision again."
        ),
        Scenario(
            instance: "other-version",
            vm: "vm4",
            failingStep: "restore",
            cause: "The backup comes from Octopus ",
            advice: "then upgrade the clone."
        ),
        Scenario(
            instance: "no-disk",
            vm: "vm5",
            failingStep: "preflight",
            cause: "The host has ",
            advice: "free some space or point work_dir at a larger disk."
        ),
        Scenario(
            instance: "ssh-drop",
            vm: "vm6",
            failingStep: "restore",
            cause: "The connection to vm6 ",
            advice: "Rerun `octoprov provision` to resume from this step."
        ),
    ]

    /// The newer version the sandbox's mirror has a package for; the seeded backup is not of it.
    static let otherVersion = "2024.1.11892"

    @Test func eachFailureEndsOnlyItsHostWithOneSentenceAndTheRerunRecovers() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-fail-\(UUID().uuidString)")
        let directory = base.appendingPathComponent("sbx").path
        let stateDirectory = base.appendingPathComponent("state").path
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov(["sandbox", "up", "--vms", "\(Self.scenarios.count)", "--dir", directory])
        #expect(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        let state = try #require(SandboxState.read(from: layout))
        // Whatever happens below, never leave the sandbox running.
        defer { _ = try? SandboxControl.down(layout) }
        let vms = Dictionary(uniqueKeysWithValues: state.vms.map { ($0.name, $0) })
        let production = try #require(state.productionVersion)
        try #require(state.packageVersions.contains(Self.otherVersion))
        let contactsBefore = SandboxControl.contactCounts(layout)

        // A VM without disk space: a 1 MiB tmpfs over vm5's work folder. Unmounted before the sandbox goes, on
        // every path (defers run last-registered first).
        let sandboxInventory = try String(contentsOfFile: layout.inventoryPath, encoding: .utf8)
        let small = try #require(vms["vm5"]).rootDirectory + "/tmp/octoprov"
        try #require(sandboxInventory.contains("work_dir: \(small)\n"), "the sandbox's work_dir moved: \(small)")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mounted = try ChildProcess.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small])
        try #require(mounted.exitStatus == 0, "\(mounted.output)")
        defer { _ = try? ChildProcess.run("/usr/bin/umount", [small]) }

        // The inputs: production's, a wrong Master Key (a valid-looking one, 0600), a truncated backup.
        let masterKey = try Self.secret(layout.productionDirectory + "/master-key")
        let adminPassword = try Self.secret(layout.productionDirectory + "/admin-password")
        let wrongKeyPath = directory + "/wrong-master-key"
        var keyBytes = [UInt8](repeating: 0, count: 16)
        for index in keyBytes.indices { keyBytes[index] = UInt8.random(in: 0...255) }
        let wrongKey = Data(keyBytes).base64EncodedString()
        try #require(wrongKey != masterKey)
        try writePrivateFile(wrongKey + "\n", to: wrongKeyPath)
        let backup = try Data(contentsOf: URL(fileURLWithPath: layout.productionDirectory + "/OctopusDeploy.bak"))
        try backup.prefix(backup.count / 2).write(to: URL(fileURLWithPath: directory + "/truncated.bak"))

        // The inventory: the sandbox's defaults, hosts and groups (paths relative to the same folder), and one
        // instance per scenario on its own VM.
        let inventory = directory + "/failures.yml"
        // (The sandbox gives each VM's server a port that was free at `up`, so that clones of sandboxes running
        // side by side on the same loopback addresses never answer for each other.)
        let hostsPart = try #require(sandboxInventory.components(separatedBy: "\ninstances:\n").first)
        var instances = "\ninstances:\n"
        for scenario in Self.scenarios {
            let version = scenario.instance == "other-version" ? Self.otherVersion : production
            let sha256 = try mirrorPackageSHA256(layout, version: version)
            instances += """
                  \(scenario.instance):
                    mode: clone
                    hosts: [\(scenario.vm)]
                    version: \(version)
                    package: {mirror: mirror, sha256: \(sha256)}
                    backup: \(scenario.instance == "corrupt-backup" ? "truncated.bak" : "production/OctopusDeploy.bak")
                    master_key: file:\(scenario.instance == "wrong-key" ? "wrong-master-key" : "production/master-key")
                    admin: {username: octoprov, email: octoprov@sandbox.invalid, password: file:production/admin-password}

                """
        }
        try (hostsPart + instances).write(toFile: inventory, atomically: true, encoding: .utf8)

        // The SSH drop: when vm6's restore script runs, stop it, kill the VM's sshd connections, kill the script.
        let vm6 = try #require(vms["vm6"])
        let dropper = RestoreDropper(
            script: vm6.rootDirectory + "/tmp/octoprov/04-restore.sh",
            listener: vm6.sshdPID
        )
        dropper.start()
        let reportPath = base.appendingPathComponent("report.json").path
        let junitPath = base.appendingPathComponent("junit.xml").path
        let run = try await octoprov([
            "provision", "-i", inventory, "--state-dir", stateDirectory, "--parallel", "\(Self.scenarios.count)",
            "--report-json", reportPath, "--junit", junitPath,
        ])
        let drop = dropper.finish()
        #expect(run.status == 1, "\(run.stderr)")
        #expect(drop.script != nil, "vm6's restore script never ran")
        #expect(drop.connections > 0, "no sshd connection of vm6 was killed")

        let report = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: reportPath)))
        let recap = run.stderr.split(separator: "\n").map(String.init)
        let junit = Self.text(junitPath)
        for scenario in Self.scenarios {
            let vm = try #require(vms[scenario.vm])
            let host = try #require(
                report.instances.first { $0.name == scenario.instance }?.hosts.first { $0.name == scenario.vm },
                "\(scenario.instance) is missing from the report"
            )
            let line = recap.first { $0.hasPrefix("\(scenario.instance)/\(scenario.vm) ") } ?? ""
            guard let step = scenario.failingStep else {
                // The healthy host finishes although every other host fails, and its service runs.
                #expect(host.status == .changed, "\(host)")
                #expect(host.checks.count == 9 && host.checks.allSatisfy(\.passed), "\(host.checks)")
                #expect(line.contains("  ok  "), "\(line)")
                #expect(VMProcesses.standInServers(vm.rootDirectory).count == 1)
                #expect(VMProcesses.pidFileProcess(vm.rootDirectory + "/octopus") != nil)
                continue
            }
            // Its step failed with one sentence saying what to do; the steps before it ran, the ones after did not.
            #expect(host.status == .failed)
            let failed = try #require(host.steps.first { $0.status == .failed }, "\(scenario.instance): \(host)")
            #expect(failed.name == step, "\(scenario.instance) failed at \(failed.name): \(failed.message ?? "")")
            let sentence = failed.message ?? ""
            #expect(sentence.hasPrefix(scenario.cause), "\(scenario.instance): \(sentence)")
            #expect(sentence.hasSuffix(scenario.advice), "\(scenario.instance): \(sentence)")
            #expect(!sentence.contains("\n") && !sentence.contains("see its output above"), "\(sentence)")
            #expect(host.steps.filter { $0.position < failed.position }.allSatisfy { $0.status != .skipped })
            #expect(host.steps.filter { $0.position > failed.position }.allSatisfy { $0.status == .skipped })
            #expect(line.contains("  failed  ") && line.hasSuffix("Step \(step) failed: \(sentence)"), "\(line)")
            let number = failed.position < 10 ? "0\(failed.position)" : "\(failed.position)"
            let testcase = "classname=\"\(scenario.instance).\(scenario.vm)\" name=\"\(number)-\(step)\""
            let junitCase = junit.components(separatedBy: testcase).dropFirst().first?.components(
                separatedBy: "</testcase>"
            ).first
            #expect(
                junitCase?.contains("<failure message=") == true && junitCase?.contains("type=\"step failed\">") == true
            )
            // Nothing is left half-started: no stand-in server runs on the VM, and its PID file names no process.
            #expect(
                VMProcesses.standInServers(vm.rootDirectory).isEmpty,
                "a stand-in server runs on \(scenario.vm), whose \(step) failed"
            )
            #expect(VMProcesses.pidFileProcess(vm.rootDirectory + "/octopus") == nil)
        }
        try checkWhatEachFailureLeft(report: report, vms: vms, production: production)
        #expect(SandboxControl.contactCounts(layout) == contactsBefore, "a clone contacted production")
        let captured = [run.stdout, run.stderr] + [reportPath, junitPath].map { Self.text($0) }
        for secret in [masterKey, wrongKey, adminPassword] {
            #expect(!captured.contains { $0.contains(secret) }, "a secret's value was printed or reported")
        }

        // Rerun after fixing the inputs: the right key for vm2; nothing to fix for vm6 (its connection dropped).
        try writePrivateFile(masterKey + "\n", to: wrongKeyPath)
        for (vm, firstRun) in [("vm2", "connect-database"), ("vm6", "restore")] {
            let rerunReport = base.appendingPathComponent("rerun-\(vm).json").path
            let rerun = try await octoprov([
                "provision", "-i", inventory, "--state-dir", stateDirectory, "--limit", vm, "--report-json",
                rerunReport,
            ])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let again = try ProvisionReport(json: Data(contentsOf: URL(fileURLWithPath: rerunReport)))
            let host = try #require(again.instances.flatMap(\.hosts).first)
            #expect(again.instances.flatMap(\.hosts).map(\.name) == [vm])
            #expect(host.status == .changed && host.checks.allSatisfy(\.passed), "\(host)")
            // The journal skips what finished before the failure, and the failed step runs again.
            let position = try #require(host.steps.first { $0.name == firstRun }?.position)
            for step in host.steps where step.position < position {
                #expect(step.status == .ok, "\(vm) \(step.name): \(step.message ?? "")")
                #expect(step.message?.hasSuffix("with the same input; not run again.") == true)
            }
            #expect(host.steps.first { $0.name == firstRun }?.status != .skipped)
            let root = try #require(vms[vm]).rootDirectory
            #expect(VMProcesses.standInServers(root).count == 1, "\(vm)'s service does not run after the rerun")
        }

        _ = try? ChildProcess.run("/usr/bin/umount", [small])
        let down = try await octoprov(["sandbox", "down", "--dir", directory])
        #expect(down.status == 0, "\(down.stderr)")
        for vm in state.vms {
            #expect(LoopbackVM.processes(ofVMWithRoot: vm.rootDirectory).isEmpty)
        }
    }

    /// What each failing host left on its VM: nothing at all without disk space; no restored database after a
    /// damaged backup or one from another version; a quarantined database but no service after a wrong key.
    private func checkWhatEachFailureLeft(
        report: ProvisionReport,
        vms: [String: SandboxState.VM],
        production: String
    ) throws {
        let root = { (vm: String) in vms[vm]?.rootDirectory ?? "/nonexistent" }
        let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }
        // The stand-in's SQL Server keeps each database but `master` as `<name>.sqlite` in its data folder.
        let databases = { (vm: String) in
            let folder = root(vm) + "/var/lib/octopus-standin/localhost"
            return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
                $0.hasSuffix(".sqlite") && $0 != "master.sqlite"
            }
        }

        // No disk space: refused before any change; only the preflight's own files (and the step lock, an empty
        // file) are in the work folder.
        for folder in ["/opt", "/octopus", "/var"] {
            #expect(!exists(root("vm5") + folder), "vm5 has \(folder) although preflight refused")
        }
        let work = try FileManager.default.contentsOfDirectory(atPath: root("vm5") + "/tmp/octoprov")
        #expect(
            Set(work).isSubset(of: ["01-preflight.sh", "database-exists.sql", StepCommand.lockFileName]),
            "\(work)"
        )
        let lock = try FileManager.default.attributesOfItem(
            atPath: root("vm5") + "/tmp/octoprov/" + StepCommand.lockFileName
        )
        #expect((lock[.size] as? NSNumber)?.intValue == 0)

        // Another version: refused before the restore, so no database and no instance.
        let otherVersion = report.instances.first { $0.name == "other-version" }?.hosts.first?.steps
        let refusal = otherVersion?.first { $0.name == "restore" }?.message ?? ""
        #expect(
            refusal
                == "The backup comes from Octopus \(production) but the pinned version is \(Self.otherVersion); "
                + "restore it onto the same version (pin \(production)), then upgrade the clone."
        )
        #expect(databases("vm4").isEmpty, "vm4 restored \(databases("vm4"))")
        #expect(!exists(root("vm4") + "/octopus"))

        // A truncated backup: nothing restored.
        #expect(databases("vm3").isEmpty, "vm3 restored \(databases("vm3"))")
        #expect(!exists(root("vm3") + "/octopus"))

        // A wrong key: the database was restored and quarantined; the instance exists but never started.
        let wrongKey = report.instances.first { $0.name == "wrong-key" }?.hosts.first?.steps ?? []
        #expect(wrongKey.first { $0.name == "quarantine" }?.status == .changed)
        #expect(databases("vm2").count == 1)
        #expect(wrongKey.first { $0.name == "start" }?.status == .skipped)
    }

    /// A secret file's value (one line).
    static func secret(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func text(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

/// Processes of a sandbox VM, read from `/proc`.
private enum VMProcesses {
    /// The stand-in servers (`Octopus.Server run …`) running on the VM whose root folder is `root`.
    static func standInServers(_ root: String) -> [Int32] {
        LoopbackVM.processes(ofVMWithRoot: root).filter { pid in
            let arguments = commandLine(pid)
            let program = (arguments.first ?? "").split(separator: "/").last ?? ""
            return ["Octopus.Server", "octopus-standin"].contains(program) && arguments.contains("run")
        }
    }

    /// The live process `home/standin.pid` names, or nil when the file is absent or its process is gone.
    static func pidFileProcess(_ home: String) -> Int32? {
        guard let text = try? String(contentsOfFile: home + "/standin.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0,
            stat(pid)?.state != "Z"
        else { return nil }
        return pid
    }

    /// A process's arguments (empty when it is gone).
    static func commandLine(_ pid: Int32) -> [String] {
        guard let bytes = read("/proc/\(pid)/cmdline") else { return [] }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A process's parent, state and command name from `/proc/PID/stat`.
    static func stat(_ pid: Int32) -> (parent: Int32, state: Character, name: String)? {
        guard let bytes = read("/proc/\(pid)/stat"), let open = bytes.firstIndex(of: UInt8(ascii: "(")),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        let name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let fields = String(decoding: bytes[(close + 1)...], as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return (parent, state, name)
    }

    /// Every process id in `/proc`.
    static func all() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Every live descendant of `root`.
    static func descendants(of root: Int32) -> [(pid: Int32, name: String)] {
        var children: [Int32: [(Int32, String)]] = [:]
        for pid in all() {
            guard let entry = stat(pid), entry.state != "Z" else { continue }
            children[entry.parent, default: []].append((pid, entry.name))
        }
        var result: [(pid: Int32, name: String)] = []
        var queue = children[root] ?? []
        while !queue.isEmpty {
            let next = queue.removeFirst()
            result.append(next)
            queue += children[next.0] ?? []
        }
        return result
    }

    /// A whole `/proc` file (their size is 0, so read until the end).
    static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            result += buffer[0..<count]
        }
        return result
    }
}

/// Drops a VM's SSH connections while its restore script runs, as a lost network would: polls `/proc` every 2 ms
/// for `bash <script>`; when it appears, stops it (SIGSTOP, so the restore cannot finish meanwhile), kills the
/// per-connection sshd processes under the VM's listener (not the listener), then kills the stopped script.
private final class RestoreDropper: @unchecked Sendable {
    /// What happened: the script's PID (nil if it never ran) and how many sshd processes were killed.
    struct Outcome {
        var script: Int32?
        var connections: Int
    }

    private let script: String
    private let listener: Int32
    private let lock = NSLock()
    private var stopped = false
    private var outcome = Outcome(script: nil, connections: 0)
    private let done = DispatchSemaphore(value: 0)

    init(script: String, listener: Int32) {
        self.script = script
        self.listener = listener
    }

    func start() {
        let thread = Thread { [self] in
            defer { done.signal() }
            while !lock.withLock({ stopped }) {
                if let pid = findScript() {
                    drop(pid)
                    return
                }
                usleep(2000)
            }
        }
        thread.start()
    }

    /// Stops polling and returns what was done.
    func finish() -> Outcome {
        lock.withLock { stopped = true }
        done.wait()
        return lock.withLock { outcome }
    }

    private func findScript() -> Int32? {
        VMProcesses.all().first { pid in
            let arguments = VMProcesses.commandLine(pid)
            return arguments.count == 2 && arguments[0].hasSuffix("bash") && arguments[1] == script
        }
    }

    private func drop(_ pid: Int32) {
        kill(pid, SIGSTOP)
        let sessions = VMProcesses.descendants(of: listener).filter { $0.name.hasPrefix("sshd") }
        for session in sessions { kill(session.pid, SIGKILL) }
        kill(pid, SIGKILL)
        lock.withLock { outcome = Outcome(script: pid, connections: sessions.count) }
    }
}
