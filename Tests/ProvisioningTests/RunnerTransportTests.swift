import Foundation
import Provisioning
import SSHKit
import Synchronization
import Testing

// MARK: - An in-memory host

/// A host held in memory: it keeps the files the runner writes and uploads, and answers each step script it is
/// asked to run with the result line real scripts print (docs/steps.md, "How a script talks back"), or a failure.
final class FakeHost: HostTransport, HostFiles {
    /// How a step script ends.
    enum Answer: Sendable {
        /// Exit 0 with this result line.
        case result(changed: Bool, message: String, facts: [String: String] = [:])
        /// Exit 1 with this last line on standard error.
        case fail(String)
    }

    private struct State {
        var files: [String: Data] = [:]
        var log: [String] = []
        var connections = 0
        var answer: @Sendable (String) -> Answer = { .result(changed: true, message: "Did \($0).") }
    }

    let name: String
    private let state = Mutex(State())

    init(name: String) {
        self.name = name
    }

    /// What the host was asked to do, in order: `script:<step>`, `upload:<remote>`, `tree:<remote>`.
    var log: [String] { state.withLock { $0.log } }
    /// The steps whose scripts ran, in order.
    var scriptsRun: [String] { log.compactMap { $0.hasPrefix("script:") ? String($0.dropFirst(7)) : nil } }
    /// How often the runner connected.
    var connections: Int { state.withLock { $0.connections } }

    /// From now on, answer step scripts with `answer` (given the step's name).
    func answer(_ answer: @escaping @Sendable (String) -> Answer) {
        state.withLock { $0.answer = answer }
    }

    /// Forgets what the host was asked so far (its files stay).
    func clearLog() {
        state.withLock { $0.log = [] }
    }

    /// The file the runner left at `path`.
    func file(_ path: String) -> Data? { state.withLock { $0.files[path] } }

    func connected() {
        state.withLock { $0.connections += 1 }
    }

    // MARK: HostTransport

    func run(
        _ command: String,
        stdin: [UInt8],
        onOutput: (@Sendable (SSHKit.OutputStream, [UInt8]) -> Void)?
    ) async throws -> HostCommandResult {
        let (step, answer) = try state.withLock { state -> (String, Answer) in
            // The script is the uploaded `NN-<step>.sh` the command names.
            guard let path = state.files.keys.first(where: { $0.hasSuffix(".sh") && command.contains($0) }) else {
                throw FakeHostError(message: "\(name) has no script for the command \(command)")
            }
            let file = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            let step = String(file.drop { $0 != "-" }.dropFirst())
            state.log.append("script:\(step)")
            return (step, state.answer(step))
        }
        switch answer {
        case .result(let changed, let message, let facts):
            let json = try JSONSerialization.data(
                withJSONObject: ["changed": changed, "message": message, "facts": facts],
                options: [.sortedKeys]
            )
            let stdout = "Running \(step).\n" + StepScriptResult.marker + String(decoding: json, as: UTF8.self) + "\n"
            onOutput?(.stdout, Array(stdout.utf8))
            return HostCommandResult(succeeded: true, statusDescription: "exit status 0", stdout: stdout, stderr: "")
        case .fail(let reason):
            onOutput?(.stderr, Array((reason + "\n").utf8))
            return HostCommandResult(
                succeeded: false,
                statusDescription: "exit status 1",
                stdout: "",
                stderr: reason + "\n"
            )
        }
    }

    func withFiles<T: Sendable>(_ body: (any HostFiles) async throws -> T) async throws -> T {
        try await body(self)
    }

    func close() async {}

    // MARK: HostFiles

    func makeDirectories(_ path: String, mode: UInt32) async throws {}

    func read(_ path: String) async throws -> Data? {
        file(path)
    }

    func write(_ files: [ProvisioningPlan.RenderedFile], into directory: String, checksum: RemoteChecksum?) async throws
    {
        state.withLock { state in
            for file in files { state.files[directory + "/" + file.outputName] = Data(file.contents.utf8) }
        }
    }

    func upload(from local: String, to remote: String, options: TransferOptions) async throws -> FileTransfer {
        let data = try Data(contentsOf: URL(fileURLWithPath: local))
        let skipped = state.withLock { state in
            state.log.append("upload:\(remote)")
            defer { state.files[remote] = data }
            return state.files[remote] == data
        }
        return FileTransfer(size: UInt64(data.count), skipped: skipped, sha256: try FileDigest.sha256(path: local))
    }

    func uploadTree(from local: String, to remote: String, options: TransferOptions) async throws -> TreeTransfer {
        let names = FileManager.default.enumerator(atPath: local)?.allObjects.compactMap { $0 as? String } ?? []
        var transfer = TreeTransfer(files: 0)
        for name in names.sorted() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: local + "/" + name, isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: local + "/" + name))
            let unchanged = state.withLock { state in
                defer { state.files[remote + "/" + name] = data }
                return state.files[remote + "/" + name] == data
            }
            transfer.files += 1
            transfer.totalBytes += UInt64(data.count)
            if unchanged { transfer.unchangedFiles += 1 } else { transfer.transferredBytes += UInt64(data.count) }
        }
        state.withLock { $0.log.append("tree:\(remote)") }
        return transfer
    }

    func downloadTree(from remote: String, to local: String, options: TransferOptions) async throws -> TreeTransfer {
        throw FakeHostError(message: "\(name) has nothing to download from \(remote)")
    }
}

/// A failure of the in-memory host itself.
struct FakeHostError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Connects to in-memory hosts by inventory name; a host it does not know cannot be reached.
struct FakeNetwork: HostConnector {
    var hosts: [String: FakeHost]

    init(_ hosts: FakeHost...) {
        self.hosts = Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, $0) })
    }

    func connect(to host: InventoryHost) async throws -> any HostTransport {
        guard let fake = hosts[host.name] else {
            throw FakeHostError(message: "No route to \(host.name).")
        }
        fake.connected()
        return fake
    }
}

// MARK: - A clone on two hosts

/// A clone of `backup.bak` on the `standin` hosts vm1 and vm2, with the test templates, in a temporary folder with
/// its own state folder for the journals.
struct RunnerFixture {
    let directory: String

    var inventory: String { directory + "/inventory.yml" }
    var stateDirectory: String { directory + "/state" }
    var environment: [String: String] { CheckFixture.environment.merging(["HOME": directory + "/home"]) { $1 } }

    static let yaml = CheckFixture.yaml(
        CheckFixture.clone,
        replacing: [
            2: "  vm1: {address: 127.0.0.1, user: root, platform: standin}\n"
                + "  vm2: {address: 127.0.0.2, user: root, platform: standin}",
            3: "", 4: "", 5: "",
            9: "    hosts: [vm1, vm2]",
        ]
    )

    /// Writes the fixture, runs `body` with it, and removes it.
    static func with(_ body: (RunnerFixture) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "octoprov-runner-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files =
            CheckFixture.files + TestTemplates.files() + [FixtureFile(path: "inventory.yml", contents: yaml)]
        for file in files {
            let path = directory + "/" + file.path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path))
        }
        try await body(RunnerFixture(directory: directory))
    }

    /// The plan of the inventory, as `octoprov provision` renders it.
    func plan() throws -> ProvisioningPlan {
        let check = InventoryCheck.run(path: inventory, environment: environment)
        #expect(check.errors.isEmpty, "\(check.errors)")
        return try ProvisioningPlan.build(
            check: check,
            templates: try TemplateLibrary(directory: directory + "/templates")
        )
    }

    /// Runs the plan over `network` as `octoprov provision` does, with its journals in the state folder.
    func provision(over network: FakeNetwork, fromStep: StepName? = nil) async throws -> PlanRunOutcome {
        let plan = try plan()
        let run = try PlanRun.open(
            plan: plan,
            stateDirectory: stateDirectory,
            redactor: .none,
            environment: environment
        ) { Issue.record("Unexpected journal warning: \($0)") }
        return await run.run(
            PlanRun.Settings(parallel: 2, fromStep: fromStep, connector: network) { _, _ in }
        )
    }

    /// Opens the instance's journal (`lab`, or a flow's key) to read it; the caller closes it.
    func journal(_ instance: String = "lab") throws -> Journal {
        try Journal.open(inventory: inventory, instance: instance, stateDirectory: stateDirectory)
    }

    /// Records in the instance's upgrade journal, as an earlier `octoprov upgrade` from the inventory's 2023.3.13026
    /// to `target` would have, that `finished` steps succeeded on `host`.
    func recordUpgrade(to target: String, on host: String, finished: [String]) throws {
        let upgrade = try journal(PlanRun.journalKey("lab", flow: ProvisioningPlan.Flow.upgradeName))
        defer { upgrade.close() }
        upgrade.declareSteps(StepCatalogue.upgrade.map(\.name), host: host)
        let hash = upgrade.inputHash(parts: ["to": target])
        for step in finished {
            try upgrade.markRunning(host: host, step: step, inputHash: hash)
            try upgrade.markFinished(
                host: host,
                step: step,
                status: .changed,
                message: nil,
                facts: step == "upgrade-preflight" ? ["from_version": "2023.3.13026", "target_version": target] : [:],
                duration: .seconds(1)
            )
        }
    }

    /// The names of the clone's steps, in order.
    func stepNames() throws -> [String] {
        try #require(try plan().hosts.first).steps.map(\.definition.name)
    }

    /// The steps that run a script on the host, in order.
    func scriptSteps() throws -> [String] {
        try #require(try plan().hosts.first).steps.filter { $0.script != nil }.map(\.definition.name)
    }
}

extension PlanRunOutcome {
    /// The record of `host`.
    func host(_ name: String) throws -> HostRunRecord {
        try #require(hosts.first { $0.host == name })
    }
}

extension HostRunRecord {
    /// Each step's status, by step.
    var statuses: [String: StepRunStatus] {
        Dictionary(uniqueKeysWithValues: steps.map { ($0.step, $0.status) })
    }
}

// MARK: - The runner's decisions, without sshd

/// The runner (``PlanRun`` and ``HostRun``) over in-memory hosts: which scripts run, what the journal
/// records, and how each host ends. The live suites (`ProvisionLiveTests`, …) prove the same over real sshd.
@Suite struct RunnerTransportTests {
    @Test func aRerunResumesAtTheFailedStepAndSkipsTheStepsBefore() async throws {
        try await RunnerFixture.with { fixture in
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let network = FakeNetwork(vm1, vm2)
            let steps = try fixture.stepNames()
            let scripts = try fixture.scriptSteps()
            let failing = "restore"
            let failingIndex = try #require(steps.firstIndex(of: failing))
            let before = Set(steps[..<failingIndex])
            vm1.answer {
                $0 == failing
                    ? .fail("RESTORE DATABASE failed: the disk is full") : .result(changed: true, message: "Did \($0).")
            }

            let first = try await fixture.provision(over: network)
            let failed = try first.host("vm1")
            #expect(!failed.succeeded)
            #expect(failed.failure == "Step restore failed: RESTORE DATABASE failed: the disk is full")
            #expect(vm1.scriptsRun == scripts.filter { before.contains($0) || $0 == failing })
            #expect(failed.statuses[failing] == .failed)
            for step in before { #expect(failed.statuses[step] == .changed || failed.statuses[step] == .ok, "\(step)") }
            for step in steps[(failingIndex + 1)...] { #expect(failed.statuses[step] == .notRun, "\(step)") }
            do {
                let journal = try fixture.journal()
                defer { journal.close() }
                #expect(journal.record(host: "vm1", step: failing)?.status == .failed)
                #expect(steps[..<failingIndex].allSatisfy { journal.succeeded(host: "vm1", step: $0) })
                #expect(!steps[(failingIndex + 1)...].contains { journal.succeeded(host: "vm1", step: $0) })
            }

            // The cause is fixed; the rerun starts at the failed step.
            vm1.clearLog()
            vm1.answer { .result(changed: true, message: "Did \($0).") }
            let second = try await fixture.provision(over: network)
            let resumed = try second.host("vm1")
            #expect(resumed.succeeded)
            #expect(vm1.scriptsRun == scripts.filter { !before.contains($0) })
            #expect(!vm1.log.contains { $0.hasPrefix("upload:") }, "\(vm1.log)")
            for record in resumed.steps.prefix(failingIndex) {
                #expect(record.status == .ok)
                #expect(record.message.hasPrefix("Done in an earlier run ("), "\(record.message)")
            }
            #expect(resumed.steps.dropFirst(failingIndex).allSatisfy { $0.status == .changed || $0.status == .ok })
            #expect(resumed.statuses[failing] == .changed)
            let journal = try fixture.journal()
            defer { journal.close() }
            #expect(steps.allSatisfy { journal.succeeded(host: "vm1", step: $0) })
        }
    }

    @Test func aSecondRunWithTheSameInputsRunsNoScriptButVerify() async throws {
        try await RunnerFixture.with { fixture in
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let network = FakeNetwork(vm1, vm2)
            let scripts = try fixture.scriptSteps()
            let first = try await fixture.provision(over: network)
            #expect(first.status == .succeeded)
            #expect(vm1.scriptsRun == scripts && vm2.scriptsRun == scripts)
            // The host keeps the input hash of every finished step but those that always run.
            let workDirectory = try #require(try fixture.plan().hosts.first?.variables["work_dir"])
            let marker = try #require(vm1.file(workDirectory + "/" + HostRun.markerName))
            let hashes = try JSONDecoder().decode([String: String].self, from: marker)
            #expect(Set(hashes.keys) == Set(try fixture.stepNames()).subtracting(["verify", "report"]))

            vm1.clearLog()
            vm2.clearLog()
            let second = try await fixture.provision(over: network)
            #expect(second.status == .succeeded)
            for (fake, record) in [(vm1, try second.host("vm1")), (vm2, try second.host("vm2"))] {
                // `verify` always runs (docs/provision.md); nothing else is run or sent again.
                #expect(fake.log == ["script:verify"], "\(fake.name): \(fake.log)")
                #expect(record.steps.filter { $0.status == .changed }.map(\.step) == ["verify"])
                #expect(
                    record.steps.filter { $0.step != "verify" && $0.step != "report" }.allSatisfy {
                        $0.message.hasPrefix("Done in an earlier run")
                    }
                )
            }
        }
    }

    @Test func oneHostFailingLeavesTheOtherHostsRunToTheEnd() async throws {
        try await RunnerFixture.with { fixture in
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let steps = try fixture.stepNames()
            vm1.answer {
                $0 == "preflight" ? .fail("Only 2 GB free in /var/opt") : .result(changed: false, message: "ok")
            }

            let outcome = try await fixture.provision(over: FakeNetwork(vm1, vm2))
            #expect(outcome.status == .failed)
            let failed = try outcome.host("vm1")
            #expect(vm1.scriptsRun == ["preflight"])
            #expect(failed.failure == "Step preflight failed: Only 2 GB free in /var/opt")
            #expect(failed.steps.map(\.step) == steps)
            #expect(failed.steps.dropFirst().allSatisfy { $0.status == .notRun })
            let succeeded = try outcome.host("vm2")
            #expect(succeeded.succeeded && succeeded.failure == nil)
            #expect(vm2.scriptsRun == (try fixture.scriptSteps()))
            #expect(succeeded.steps.map(\.step) == steps)
            #expect(!succeeded.steps.contains { $0.status == .failed || $0.status == .notRun })
            let journal = try fixture.journal()
            defer { journal.close() }
            #expect(journal.record(host: "vm1", step: "preflight")?.status == .failed)
            #expect(steps.allSatisfy { journal.succeeded(host: "vm2", step: $0) })
        }
    }

    @Test func anUnreachableHostIsRecordedAndTheOthersRun() async throws {
        try await RunnerFixture.with { fixture in
            let vm2 = FakeHost(name: "vm2")
            let outcome = try await fixture.provision(over: FakeNetwork(vm2))
            #expect(outcome.status == .unreachable)
            #expect(outcome.unreachable == ["vm1"])
            let unreachable = try outcome.host("vm1")
            #expect(unreachable.failure == "Cannot reach the host: No route to vm1.")
            #expect(unreachable.steps.allSatisfy { $0.status == .notRun })
            #expect(try outcome.host("vm2").succeeded)
        }
    }

    /// A package that can no longer be read when the run starts (replaced after the plan was made) is refused for
    /// every host that uploads it, with its reason, before anything is connected to (it used to pass preflight).
    @Test func aPackageThatCannotBeReadWhenTheRunStartsIsRefusedBeforeAnyHostIsTouched() async throws {
        try await RunnerFixture.with { fixture in
            let plan = try fixture.plan()
            let package = fixture.directory + "/mirror/octopus-standin-2023.3.13026.tar.gz"
            try FileManager.default.removeItem(atPath: package)
            try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: false)
            let run = try PlanRun.open(
                plan: plan,
                stateDirectory: fixture.stateDirectory,
                redactor: .none,
                environment: fixture.environment
            ) { Issue.record("Unexpected journal warning: \($0)") }
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let outcome = await run.run(
                PlanRun.Settings(parallel: 2, fromStep: nil, connector: FakeNetwork(vm1, vm2)) { _, _ in }
            )
            #expect(outcome.status == .failed)
            for name in ["vm1", "vm2"] {
                let host = try outcome.host(name)
                #expect(
                    host.failure?.hasPrefix("Nothing was changed: the package file \(package) cannot be read (")
                        == true,
                    "\(host.failure ?? "")"
                )
                #expect(host.steps.allSatisfy { $0.status == .notRun })
            }
            #expect(vm1.connections == 0 && vm2.connections == 0)
        }
    }

    /// An upgrade killed after its drain (the service stopped) leaves a host the provisioning journal calls done:
    /// provision says what the host is and names the command, instead of skipping to a verify that times out.
    @Test func aHostAnUpgradeLeftDrainedIsNamedWithTheCommandThatFinishesIt() async throws {
        try await RunnerFixture.with { fixture in
            try fixture.recordUpgrade(
                to: "2024.1.11892",
                on: "vm1",
                finished: ["upgrade-preflight", "backup-database", "drain"]
            )
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let outcome = try await fixture.provision(over: FakeNetwork(vm1, vm2))
            let refused = try outcome.host("vm1")
            #expect(
                refused.failure
                    == "Nothing was changed: an `octoprov upgrade` to 2024.1.11892 stopped on this host after draining "
                    + "its node, so its service is stopped and it is not what provisioning left; run `octoprov upgrade "
                    + "--to 2024.1.11892` to finish it, or `octoprov rebuild` to make the clone again."
            )
            #expect(vm1.connections == 0 && vm1.log.isEmpty)
            #expect(try outcome.host("vm2").succeeded)
        }
    }

    @Test func aHostAnUpgradeTookPastTheInventorysVersionIsRefusedAndNothingRuns() async throws {
        try await RunnerFixture.with { fixture in
            // An earlier `octoprov upgrade` took vm1 from the inventory's 2023.3.13026 to 2024.1.11892.
            try fixture.recordUpgrade(
                to: "2024.1.11892",
                on: "vm1",
                finished: ["upgrade-preflight", "upgrade-database"]
            )
            let vm1 = FakeHost(name: "vm1")
            let vm2 = FakeHost(name: "vm2")
            let outcome = try await fixture.provision(over: FakeNetwork(vm1, vm2))

            let refused = try outcome.host("vm1")
            #expect(!refused.succeeded)
            #expect(
                refused.failure
                    == "Nothing was changed: `octoprov upgrade` took this host to Octopus 2024.1.11892, not the "
                    + "inventory's 2023.3.13026; run `octoprov upgrade --to 2024.1.11892` to verify it there, or "
                    + "`octoprov rebuild` to make it a copy at 2023.3.13026 again."
            )
            #expect(refused.steps.allSatisfy { $0.status == .notRun })
            #expect(vm1.connections == 0 && vm1.log.isEmpty)
            #expect(outcome.status == .failed && outcome.unreachable.isEmpty)
            #expect(try outcome.host("vm2").succeeded)
            let journal = try fixture.journal()
            defer { journal.close() }
            #expect(journal.records(host: "vm1").isEmpty)
        }
    }
}
