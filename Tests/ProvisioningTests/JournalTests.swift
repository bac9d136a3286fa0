import Foundation
import LoopbackVMs
import Synchronization
import TestHelpers
import Testing

@testable import Provisioning

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Fixtures

/// The clone flow's step names, in order, from the catalogue.
private let cloneSteps = StepCatalogue.all.filter { $0.flows.contains(.clone) }.map(\.name)

/// A clock for journals under test: starts at 2026-05-01T10:00:00Z and moves one second per reading.
private final class TestClock: Sendable {
    private let ticks = Mutex(0)

    /// The next time.
    func now() -> Date {
        let tick = ticks.withLock { value in
            value += 1
            return value
        }
        return Date(timeIntervalSince1970: 1_777_629_600 + Double(tick))
    }
}

/// A temporary state folder holding an empty inventory file; `body` gets both paths.
private func withJournalFolder<Result>(
    _ body: (_ stateDirectory: String, _ inventory: String) throws -> Result
) throws -> Result {
    try withTemporaryDirectory([FixtureFile(path: "inventory.yml", contents: "hosts: {}\n")]) { directory in
        try body(directory + "/state", directory + "/inventory.yml")
    }
}

/// Opens the journal of instance `lab` of `inventory` in `stateDirectory`.
private func openJournal(
    _ stateDirectory: String,
    _ inventory: String,
    instance: String = "lab",
    redactor: Redactor = .none,
    clock: TestClock = TestClock()
) throws -> Journal {
    try Journal.open(
        inventory: inventory,
        instance: instance,
        stateDirectory: stateDirectory,
        redactor: redactor,
        now: { clock.now() }
    )
}

/// Runs `step` on `host` through the journal: marks it running, then finished with `status`.
private func record(
    _ journal: Journal,
    host: String,
    step: String,
    hash: InputHash,
    status: StepOutcome = .changed,
    message: String? = nil,
    facts: [String: String] = [:]
) throws {
    try journal.markRunning(host: host, step: step, inputHash: hash)
    try journal.markFinished(
        host: host,
        step: step,
        status: status,
        message: message,
        facts: facts,
        duration: .milliseconds(1500)
    )
}

/// The names in `folder`, sorted.
private func folderNames(_ folder: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
}

/// The journal file parsed as JSON.
private func journalJSON(_ journal: Journal) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: journal.path))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

// MARK: - Location

@Suite struct JournalLocationTests {
    @Test func defaultStateFolderFollowsXDGThenHome() {
        #expect(
            JournalLocation.defaultStateDirectory(environment: ["XDG_STATE_HOME": "/x/state/", "HOME": "/home/a"])
                == "/x/state/octoprov"
        )
        // A relative XDG_STATE_HOME is ignored, as the XDG specification says.
        #expect(
            JournalLocation.defaultStateDirectory(environment: ["XDG_STATE_HOME": "state", "HOME": "/home/a"])
                == "/home/a/.local/state/octoprov"
        )
        #expect(
            JournalLocation.defaultStateDirectory(environment: ["HOME": "/home/a/"]) == "/home/a/.local/state/octoprov"
        )
    }

    @Test func fileNameIsReadableSlugsAndAShortHashOfInventoryPathAndInstance() throws {
        let path = JournalLocation.journalPath(
            stateDirectory: "/s/",
            inventoryPath: "/srv/inventories/nightly.yml",
            instance: "lab clone/1"
        )
        let digest = try runTool(["sha256sum"], input: "/srv/inventories/nightly.yml\u{0}lab clone/1").stdout.prefix(12)
        #expect(digest.count == 12)
        #expect(path == "/s/journal/nightly-lab_clone_1-\(digest).json")
        #expect(JournalLocation.lockPath(forJournal: path) == "/s/journal/nightly-lab_clone_1-\(digest).lock")
        // Names whose slugs look alike still get journals of their own.
        let paths = [
            path,
            JournalLocation.journalPath(
                stateDirectory: "/s",
                inventoryPath: "/srv/nightly.yml",
                instance: "lab clone/1"
            ),
            JournalLocation.journalPath(
                stateDirectory: "/s",
                inventoryPath: "/srv/inventories/nightly.yml",
                instance: "lab_clone_1"
            ),
        ]
        #expect(Set(paths).count == 3)
        #expect(JournalLocation.slug(".hidden") == "_hidden")
        #expect(JournalLocation.slug("") == "_")
        #expect(JournalLocation.slug(String(repeating: "x", count: 99)).count == 40)
    }

    @Test func theSameInventoryReachedAnotherWayFindsTheSameJournal() throws {
        try withJournalFolder { state, inventory in
            let folder = (inventory as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder + "/link.yml", withDestinationPath: inventory)
            let direct = JournalLocation.canonicalInventoryPath(inventory)
            #expect(JournalLocation.canonicalInventoryPath(folder + "/sub/../inventory.yml") == direct)
            #expect(JournalLocation.canonicalInventoryPath(folder + "/link.yml") == direct)
            let journal = try openJournal(state, folder + "/sub/../link.yml")
            #expect(journal.inventory == direct)
            #expect(journal.path.hasPrefix(state + "/journal/inventory-lab-"))
            #expect(journal.lockPath == JournalLocation.lockPath(forJournal: journal.path))
        }
    }
}

// MARK: - Persistence

@Suite struct JournalPersistenceTests {
    @Test func aFreshJournalWritesNothingUntilTheFirstChange() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            #expect(journal.warnings == [])
            #expect(!FileManager.default.fileExists(atPath: journal.path))
            #expect(try folderNames(state + "/journal") == [(journal.lockPath as NSString).lastPathComponent])
            let attributes = try FileManager.default.attributesOfItem(atPath: state + "/journal")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        }
    }

    @Test func recordsRoundTripThroughTheFile() throws {
        try withJournalFolder { state, inventory in
            let clock = TestClock()
            var expected: [String: [JournalStepRecord]] = [:]
            do {
                let journal = try openJournal(state, inventory, clock: clock)
                journal.declareSteps(cloneSteps, host: "vm1")
                let hash = journal.inputHash(parts: ["script": "echo preflight"])
                try record(journal, host: "vm1", step: "preflight", hash: hash, status: .ok, message: "ready")
                try record(
                    journal,
                    host: "vm1",
                    step: "install",
                    hash: journal.inputHash(parts: ["version": "2023.3.13026"]),
                    message: "installed 2023.3.13026",
                    facts: ["version": "2023.3.13026"]
                )
                try journal.markRunning(host: "vm2", step: "preflight", inputHash: hash)
                try record(journal, host: "vm3", step: "preflight", hash: hash, status: .failed, message: "no disk")
                expected = Dictionary(uniqueKeysWithValues: journal.hosts.map { ($0, journal.records(host: $0)) })
                journal.close()
            }
            let reopened = try openJournal(state, inventory)
            #expect(reopened.warnings == [])
            #expect(reopened.hosts == ["vm1", "vm2", "vm3"])
            for host in reopened.hosts {
                #expect(reopened.records(host: host) == expected[host])
            }
            let vm1 = reopened.records(host: "vm1")
            #expect(vm1.map(\.step) == cloneSteps)
            #expect(vm1.map(\.status) == [.ok, .changed] + Array(repeating: .pending, count: cloneSteps.count - 2))
            let install = try #require(reopened.record(host: "vm1", step: "install"))
            #expect(install.message == "installed 2023.3.13026")
            #expect(install.facts == ["version": "2023.3.13026"])
            #expect(install.duration == .milliseconds(1500))
            #expect(try #require(install.finished) > (try #require(install.started)))
            #expect(reopened.record(host: "vm2", step: "preflight")?.status == .running)
            #expect(reopened.record(host: "vm3", step: "preflight")?.status == .failed)

            let json = try journalJSON(reopened)
            #expect(json["format"] as? Int == 1)
            #expect(json["instance"] as? String == "lab")
            #expect(json["inventory"] as? String == JournalLocation.canonicalInventoryPath(inventory))
            #expect((json["salt"] as? String)?.count == 64)
            let hosts = try #require(json["hosts"] as? [String: [String: Any]])
            let steps = try #require(hosts["vm1"]?["steps"] as? [[String: Any]])
            #expect(steps[1]["name"] as? String == "install")
            #expect(steps[1]["status"] as? String == "changed")
            #expect(steps[1]["durationSeconds"] as? Double == 1.5)
            #expect((steps[1]["inputHash"] as? String)?.count == 64)
            #expect((steps[1]["started"] as? String)?.hasSuffix("Z") == true)
            let attributes = try FileManager.default.attributesOfItem(atPath: reopened.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(reopened.summary().contains("install"))
        }
    }

    @Test func everyChangeReplacesTheFileWholeAndLeavesNoTemporaryFile() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            let hash = journal.inputHash(parts: ["script": "a"])
            try journal.markRunning(host: "vm1", step: "preflight", inputHash: hash)
            let before = try Data(contentsOf: URL(fileURLWithPath: journal.path))
            // A reader holding the old file keeps seeing the old, whole version: the new one is renamed over it.
            let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: journal.path))
            defer { try? reader.close() }
            var oldStatus = stat()
            #expect(stat(journal.path, &oldStatus) == 0)
            try journal.markFinished(
                host: "vm1",
                step: "preflight",
                status: .ok,
                message: "fine",
                duration: .seconds(1)
            )
            var newStatus = stat()
            #expect(stat(journal.path, &newStatus) == 0)
            #expect(newStatus.st_ino != oldStatus.st_ino)
            #expect(try reader.readToEnd() == before)
            let after = try Data(contentsOf: URL(fileURLWithPath: journal.path))
            #expect(after != before)
            #expect(try JSONSerialization.jsonObject(with: after) is [String: Any])
            #expect(AtomicFile.leftovers(of: journal.path) == [])
            #expect(
                try folderNames(state + "/journal")
                    == [(journal.path as NSString).lastPathComponent, (journal.lockPath as NSString).lastPathComponent]
                    .sorted()
            )
        }
    }

    @Test func aCrashBeforeTheRenameKeepsTheOldFileAndTheNextOpenRemovesTheTemporaryFile() throws {
        try withJournalFolder { state, inventory in
            let hash: InputHash
            let before: Data
            do {
                let journal = try openJournal(state, inventory)
                hash = journal.inputHash(parts: ["script": "a"])
                try record(journal, host: "vm1", step: "preflight", hash: hash, status: .ok)
                before = try Data(contentsOf: URL(fileURLWithPath: journal.path))
                let crash = FileOperationError(path: journal.path, operation: "rename", reason: "simulated crash")
                journal.simulateCrashBeforeRename(crash)
                #expect(throws: JournalError.file(crash)) {
                    try journal.markRunning(host: "vm1", step: "install", inputHash: hash)
                }
                #expect(try Data(contentsOf: URL(fileURLWithPath: journal.path)) == before)
                #expect(AtomicFile.leftovers(of: journal.path).count == 1)
                // The failed change is not applied in memory either.
                #expect(journal.record(host: "vm1", step: "install") == nil)
                journal.close()
            }
            let reopened = try openJournal(state, inventory)
            #expect(AtomicFile.leftovers(of: reopened.path) == [])
            #expect(reopened.warnings == [])
            #expect(reopened.decision(host: "vm1", step: "preflight", inputHash: hash).shouldRun == false)
        }
    }

    @Test func aCorruptJournalIsMovedAsideWithAWarningAndTheRunStartsAfresh() throws {
        try withJournalFolder { state, inventory in
            let path: String
            do {
                let journal = try openJournal(state, inventory)
                try record(journal, host: "vm1", step: "preflight", hash: journal.inputHash(parts: [:]))
                path = journal.path
                journal.close()
            }
            let torn = Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(40))
            try torn.write(to: URL(fileURLWithPath: path))
            let journal = try openJournal(state, inventory)
            #expect(journal.warnings.count == 1)
            let warning = try #require(journal.warnings.first)
            #expect(
                warning.hasPrefix("The journal \(path) could not be read (it is not a JSON object); it was moved to ")
            )
            #expect(warning.hasSuffix("every step of instance lab will run again."))
            let aside = try folderNames(state + "/journal").filter { $0.contains(".corrupt-") }
            #expect(aside.count == 1)
            let asideName = try #require(aside.first)
            #expect(asideName.hasPrefix((path as NSString).lastPathComponent + ".corrupt-2026"))
            #expect(warning.contains(asideName))
            #expect(try Data(contentsOf: URL(fileURLWithPath: state + "/journal/" + asideName)) == torn)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(journal.hosts == [])
            #expect(
                journal.decision(host: "vm1", step: "preflight", inputHash: journal.inputHash(parts: [:]))
                    == .run(.neverRan)
            )
        }
    }

    @Test func aJournalOfAFutureFormatIsMovedAsideToo() throws {
        try withJournalFolder { state, inventory in
            let path = JournalLocation.journalPath(
                stateDirectory: state,
                inventoryPath: JournalLocation.canonicalInventoryPath(inventory),
                instance: "lab"
            )
            try FileManager.default.createDirectory(atPath: state + "/journal", withIntermediateDirectories: true)
            let future = Data(#"{"format": 2, "hosts": {"vm1": {"somethingNew": true}}}"#.utf8)
            try future.write(to: URL(fileURLWithPath: path))
            let journal = try openJournal(state, inventory)
            #expect(journal.warnings.count == 1)
            #expect(journal.warnings.first?.contains("(its format 2 is newer than this octoprov's 1)") == true)
            let aside = try folderNames(state + "/journal").filter { $0.contains(".corrupt-") }
            #expect(aside.count == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: state + "/journal/" + (aside.first ?? ""))) == future)
            // The fresh journal is written at the first change, in format 1.
            try journal.markRunning(host: "vm1", step: "preflight", inputHash: journal.inputHash(parts: [:]))
            #expect(try journalJSON(journal)["format"] as? Int == 1)
        }
    }

    @Test func anotherInstancesJournalAtThePathIsMovedAside() throws {
        try withJournalFolder { state, inventory in
            let other = try openJournal(state, inventory, instance: "other")
            try other.markRunning(host: "vm1", step: "preflight", inputHash: other.inputHash(parts: [:]))
            other.close()
            let path = JournalLocation.journalPath(
                stateDirectory: state,
                inventoryPath: JournalLocation.canonicalInventoryPath(inventory),
                instance: "lab"
            )
            try FileManager.default.copyItem(atPath: other.path, toPath: path)
            let journal = try openJournal(state, inventory)
            #expect(journal.warnings.first?.contains("it belongs to instance other of inventory") == true)
            #expect(journal.hosts == [])
        }
    }

    @Test func concurrentHostsLoseNoUpdate() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let inventory = directory + "/inventory.yml"
            try Data("hosts: {}\n".utf8).write(to: URL(fileURLWithPath: inventory))
            let journal = try openJournal(directory + "/state", inventory)
            let hosts = (1...8).map { "vm\($0)" }
            let steps = Array(cloneSteps.prefix(6))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for host in hosts {
                    group.addTask {
                        journal.declareSteps(steps, host: host)
                        for step in steps {
                            let hash = journal.inputHash(parts: ["host": host, "step": step])
                            #expect(journal.decision(host: host, step: step, inputHash: hash) == .run(.neverRan))
                            try record(journal, host: host, step: step, hash: hash, message: "\(host) \(step)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(AtomicFile.leftovers(of: journal.path) == [])
            journal.close()
            let reopened = try openJournal(directory + "/state", inventory)
            #expect(reopened.hosts == hosts.sorted())
            for host in hosts {
                let records = reopened.records(host: host)
                #expect(records.map(\.step) == steps)
                #expect(records.allSatisfy { $0.status == .changed })
                #expect(records.map(\.message) == steps.map { "\(host) \($0)" })
                for step in steps {
                    let hash = reopened.inputHash(parts: ["host": host, "step": step])
                    #expect(!reopened.decision(host: host, step: step, inputHash: hash).shouldRun)
                }
            }
        }
    }

    @Test func aClosedJournalRefusesChanges() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            journal.close()
            #expect(throws: JournalError.closed(path: journal.path)) {
                try journal.markRunning(host: "vm1", step: "preflight", inputHash: journal.inputHash(parts: [:]))
            }
        }
    }
}

/// `withTemporaryDirectory` for async bodies.
private func withTemporaryDirectoryAsync<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "octoprov-journal-\(UUID().uuidString)"
    )
    .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

// MARK: - Decisions

@Suite struct JournalDecisionTests {
    @Test func aStepDoneWithTheSameInputIsSkippedAndOtherStatesRun() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            let hash = journal.inputHash(parts: ["script": "x"])
            #expect(journal.decision(host: "vm1", step: "preflight", inputHash: hash) == .run(.neverRan))
            try record(journal, host: "vm1", step: "preflight", hash: hash, status: .ok)
            let skip = journal.decision(host: "vm1", step: "preflight", inputHash: hash)
            guard case .skip(let reason) = skip else {
                Issue.record("expected a skip, got \(skip)")
                return
            }
            #expect(reason.status == .ok)
            #expect(skip.description.hasPrefix("skip: already done (ok at 2026-05-01T10:00:"))

            try record(journal, host: "vm1", step: "install", hash: hash, status: .failed, message: "broken")
            #expect(journal.decision(host: "vm1", step: "install", inputHash: hash) == .run(.failedLastTime))

            try journal.markRunning(host: "vm1", step: "upload-backup", inputHash: hash)
            journal.close()
            // The run was killed while upload-backup ran: the next run reruns it.
            let reopened = try openJournal(state, inventory)
            #expect(reopened.decision(host: "vm1", step: "upload-backup", inputHash: hash) == .run(.interrupted))
            #expect(reopened.decision(host: "vm1", step: "preflight", inputHash: hash).shouldRun == false)
            #expect(reopened.decision(host: "vm2", step: "preflight", inputHash: hash) == .run(.neverRan))
        }
    }

    @Test func aChangedInputRerunsThatStepAndEveryLaterStepOfTheHostOnly() throws {
        try withJournalFolder { state, inventory in
            let steps = Array(cloneSteps.prefix(6))
            func hashes(_ journal: Journal, backup: String) -> [String: InputHash] {
                Dictionary(
                    uniqueKeysWithValues: steps.map { step in
                        (
                            step,
                            journal.inputHash(parts: ["step": step, "backup": step == "upload-backup" ? backup : ""])
                        )
                    }
                )
            }
            do {
                let journal = try openJournal(state, inventory)
                for host in ["vm1", "vm2"] {
                    journal.declareSteps(steps, host: host)
                    let first = hashes(journal, backup: "monday")
                    for step in steps {
                        try record(journal, host: host, step: step, hash: try #require(first[step]))
                    }
                }
                journal.close()
            }
            let journal = try openJournal(state, inventory)
            let second = hashes(journal, backup: "tuesday")
            journal.declareSteps(steps, host: "vm1")
            var decisions: [StepDecision] = []
            for step in steps {
                let hash = try #require(second[step])
                let decision = journal.decision(host: "vm1", step: step, inputHash: hash)
                decisions.append(decision)
                if decision.shouldRun {
                    try record(journal, host: "vm1", step: step, hash: hash)
                }
            }
            let uploadIndex = try #require(steps.firstIndex(of: "upload-backup"))
            #expect(decisions[..<uploadIndex].allSatisfy { !$0.shouldRun })
            #expect(decisions[uploadIndex] == .run(.inputChanged))
            #expect(
                decisions[(uploadIndex + 1)...].allSatisfy { $0 == .run(.rerun(.afterChange(of: "upload-backup"))) }
            )
            #expect(decisions[uploadIndex + 1].description == "run: after upload-backup changed")
            // Once rerun, every step is done again; the other host was never affected.
            for step in steps {
                #expect(!journal.decision(host: "vm1", step: step, inputHash: try #require(second[step])).shouldRun)
            }
            let first = hashes(journal, backup: "monday")
            for step in steps {
                #expect(!journal.decision(host: "vm2", step: step, inputHash: try #require(first[step])).shouldRun)
            }
        }
    }

    @Test func laterStepsMarkedToRerunSurviveAKilledRun() throws {
        try withJournalFolder { state, inventory in
            let steps = ["preflight", "install", "upload-backup"]
            let old = InputHash(hex: String(repeating: "a", count: 64))
            let new = InputHash(hex: String(repeating: "b", count: 64))
            do {
                let journal = try openJournal(state, inventory)
                journal.declareSteps(steps, host: "vm1")
                for step in steps {
                    try record(journal, host: "vm1", step: step, hash: old)
                }
                // The install input changes; the run is killed while install runs.
                #expect(journal.decision(host: "vm1", step: "install", inputHash: new) == .run(.inputChanged))
                try journal.markRunning(host: "vm1", step: "install", inputHash: new)
                journal.close()
            }
            let journal = try openJournal(state, inventory)
            #expect(!journal.decision(host: "vm1", step: "preflight", inputHash: old).shouldRun)
            #expect(journal.decision(host: "vm1", step: "install", inputHash: new) == .run(.interrupted))
            try record(journal, host: "vm1", step: "install", hash: new)
            #expect(
                journal.decision(host: "vm1", step: "upload-backup", inputHash: old)
                    == .run(.rerun(.afterChange(of: "install")))
            )
            #expect(journal.record(host: "vm1", step: "upload-backup")?.rerun == .afterChange(of: "install"))
        }
    }

    @Test func fromStepRerunsThatStepAndTheLaterOnes() throws {
        try withJournalFolder { state, inventory in
            let steps = ["preflight", "install", "upload-backup", "restore"]
            let journal = try openJournal(state, inventory)
            let hash = journal.inputHash(parts: [:])
            journal.declareSteps(steps, host: "vm1")
            for step in steps {
                try record(journal, host: "vm1", step: step, hash: hash)
            }
            try journal.reset(host: "vm1", from: "upload-backup")
            #expect(
                steps.map { journal.decision(host: "vm1", step: $0, inputHash: hash) } == [
                    .skip(
                        SkipReason(status: .changed, finished: journal.record(host: "vm1", step: "preflight")?.finished)
                    ),
                    .skip(
                        SkipReason(status: .changed, finished: journal.record(host: "vm1", step: "install")?.finished)
                    ),
                    .run(.rerun(.fromStep("upload-backup"))), .run(.rerun(.fromStep("upload-backup"))),
                ]
            )
            #expect(throws: JournalError.unknownStep(host: "vm1", step: "nope", known: steps, path: journal.path)) {
                try journal.reset(host: "vm1", from: "nope")
            }
            // A host the journal does not know runs every step anyway.
            try journal.reset(host: "vm9", from: "install")
            #expect(journal.records(host: "vm9") == [])
        }
    }

    @Test func succeededMeansFinishedWellAndNotMarkedToRerun() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            let steps = ["restore", "quarantine", "create-instance"]
            journal.declareSteps(steps, host: "vm1")
            let old = journal.inputHash(parts: ["backup": "monday"])
            #expect(!journal.succeeded(host: "vm1", step: "quarantine"))
            try record(journal, host: "vm1", step: "restore", hash: old)
            try journal.markRunning(host: "vm1", step: "quarantine", inputHash: old)
            #expect(!journal.succeeded(host: "vm1", step: "quarantine"))
            try journal.markFinished(host: "vm1", step: "quarantine", status: .failed, message: "x", duration: .zero)
            #expect(!journal.succeeded(host: "vm1", step: "quarantine"))
            try record(journal, host: "vm1", step: "quarantine", hash: old, status: .ok)
            #expect(journal.succeeded(host: "vm1", step: "quarantine"))
            // A new backup restores again: quarantine no longer counts until it reruns.
            let new = journal.inputHash(parts: ["backup": "tuesday"])
            #expect(journal.decision(host: "vm1", step: "restore", inputHash: new) == .run(.inputChanged))
            try record(journal, host: "vm1", step: "restore", hash: new)
            #expect(!journal.succeeded(host: "vm1", step: "quarantine"))
            try record(journal, host: "vm1", step: "quarantine", hash: old)
            #expect(journal.succeeded(host: "vm1", step: "quarantine"))
        }
    }

    @Test func finishingAStepThatIsNotRunningIsAnError() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            #expect(throws: JournalError.notRunning(host: "vm1", step: "install", path: journal.path)) {
                try journal.markFinished(host: "vm1", step: "install", status: .ok, message: nil, duration: .zero)
            }
        }
    }
}

// MARK: - Secrets

@Suite struct JournalSecretTests {
    @Test func secretsNeverReachTheJournalFileInAnyForm() throws {
        try withJournalFolder { state, inventory in
            let secret = "Pr0duction-Master-Key=="
            let journal = try openJournal(state, inventory, redactor: Redactor(secrets: [secret]))
            let hash = journal.inputHash(parts: ["connection": "Server=sql1"], secrets: ["master_key": secret])
            try record(
                journal,
                host: "vm1",
                step: "connect-database",
                hash: hash,
                message: "connected with key \(secret)",
                facts: ["key": secret, secret: "as a name"]
            )
            let bytes = try Data(contentsOf: URL(fileURLWithPath: journal.path))
            let text = String(decoding: bytes, as: UTF8.self)
            // The secret as written, in base64, and its unsalted digests (hex and base64).
            let digests = try runTool(
                [
                    "python3", "-c",
                    "import base64, hashlib, sys\nfor name in ('md5', 'sha1', 'sha256', 'sha512'):\n"
                        + "    d = hashlib.new(name, sys.argv[1].encode()).digest()\n"
                        + "    print(d.hex()); print(base64.b64encode(d).decode())",
                    secret,
                ]
            )
            let forbidden =
                [secret, Data(secret.utf8).base64EncodedString()]
                + digests.stdout.split(separator: "\n").map(String.init)
            #expect(forbidden.count == 10, "\(digests.stderr)")
            for form in forbidden {
                #expect(!text.contains(form), "the journal holds \(form)")
            }
            #expect(text.contains("connected with key ***"))
            let record = try #require(journal.record(host: "vm1", step: "connect-database"))
            #expect(record.facts == ["key": "***", "***": "as a name"])
            #expect(journal.salt.description == "JournalSalt(32 bytes)")
        }
    }

    @Test func generatedSecretsLiveInTheSecretFileOnly() throws {
        try withJournalFolder { state, inventory in
            let key = "API-GENERATED0123456789"
            do {
                let journal = try openJournal(state, inventory)
                #expect(journal.storedSecret(named: "admin_api_key", host: "vm1") == nil)
                #expect(!FileManager.default.fileExists(atPath: journal.secretsPath))
                try journal.storeSecret(key, named: "admin_api_key", host: "vm1")
                let hash = journal.inputHash(parts: [:], secrets: ["admin_api_key": key])
                try record(journal, host: "vm1", step: "admin", hash: hash)
                journal.close()
                #expect(throws: JournalError.closed(path: journal.path)) {
                    try journal.storeSecret("other", named: "admin_api_key", host: "vm2")
                }
            }
            let journal = try openJournal(state, inventory)
            #expect(journal.secretsPath == String(journal.path.dropLast(5)) + ".secrets.json")
            #expect(journal.storedSecret(named: "admin_api_key", host: "vm1") == key)
            #expect(journal.storedSecret(named: "admin_api_key", host: "vm2") == nil)
            #expect(!(try String(contentsOfFile: journal.path, encoding: .utf8)).contains(key))
            let file = try String(contentsOfFile: journal.secretsPath, encoding: .utf8)
            #expect(file.contains(key))
            let attributes = try FileManager.default.attributesOfItem(atPath: journal.secretsPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(AtomicFile.leftovers(of: journal.secretsPath) == [])
            journal.close()

            try Data("{not json".utf8).write(to: URL(fileURLWithPath: journal.secretsPath))
            let afterDamage = try openJournal(state, inventory)
            #expect(afterDamage.storedSecret(named: "admin_api_key", host: "vm1") == nil)
            #expect(afterDamage.warnings.count == 1)
            #expect(
                afterDamage.warnings.first?.hasPrefix("The journal's secret file \(journal.secretsPath) could not")
                    == true
            )
            // The journal itself was fine and is kept.
            #expect(afterDamage.record(host: "vm1", step: "admin")?.status == .changed)
        }
    }

    @Test func inputHashesAreSaltedPerJournalAndFollowEverySecret() throws {
        try withJournalFolder { state, inventory in
            let one = try openJournal(state, inventory, instance: "one")
            let two = try openJournal(state, inventory, instance: "two")
            #expect(one.salt != two.salt)
            let parts = ["script": "connect", "version": "2023.3.13026"]
            let hash = one.inputHash(parts: parts, secrets: ["master_key": "k1"])
            #expect(hash == one.inputHash(parts: parts, secrets: ["master_key": "k1"]))
            #expect(hash.hex.count == 64)
            // The same inputs hash differently in another journal: nothing can be compared across journals.
            #expect(hash != two.inputHash(parts: parts, secrets: ["master_key": "k1"]))
            #expect(hash != one.inputHash(parts: parts, secrets: ["master_key": "k2"]))
            #expect(hash != one.inputHash(parts: parts, secrets: ["other": "k1"]))
            #expect(hash != one.inputHash(parts: parts))
            #expect(
                hash
                    != one.inputHash(
                        parts: parts.merging(["version": "2024.1.1"]) { $1 },
                        secrets: ["master_key": "k1"]
                    )
            )
            // Part boundaries count: moving text from a name into a value changes the hash.
            #expect(one.inputHash(parts: ["ab": "c"]) != one.inputHash(parts: ["a": "bc"]))
            // The salt survives a reopen, so the same inputs still match after a restart.
            try one.markRunning(host: "vm1", step: "connect-database", inputHash: hash)
            one.close()
            let reopened = try openJournal(state, inventory, instance: "one")
            #expect(reopened.salt == one.salt)
            #expect(reopened.inputHash(parts: parts, secrets: ["master_key": "k1"]) == hash)
        }
    }
}

// MARK: - Lock

/// A python3 child process that takes the `flock` of a journal's lock file and holds it until it is stopped.
private final class LockHolder {
    let process: ChildProcess

    /// Starts the child and waits until it holds the lock (it prints `locked`).
    ///
    /// - Parameters:
    ///   - lockPath: The lock file.
    ///   - writePID: Whether the child writes its PID into the file, as octoprov does.
    init(lockPath: String, writePID: Bool) throws {
        let script = """
            import fcntl, json, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            if sys.argv[2] == "write":
                os.ftruncate(fd, 0)
                os.write(fd, (json.dumps({"pid": os.getpid(), "started": "2026-05-01T09:00:00.000Z"}) + "\\n").encode())
            print("locked", flush=True)
            time.sleep(600)
            """
        let outputPath = lockPath + ".holder-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        process = try TestProcess.start(
            "/usr/bin/python3",
            ["-c", script, lockPath, writePID ? "write" : "silent"],
            outputPath: outputPath
        )
        let deadline = Date().addingTimeInterval(30)
        var line = ""
        while !line.contains("\n"), process.isRunning, Date() < deadline {
            usleep(10_000)
            line = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        }
        #expect(line == "locked\n")
    }

    /// Ends the child and waits for it.
    func stop() throws {
        process.terminate()
    }
}

@Suite struct JournalLockTests {
    @Test func aSecondProcessHoldingTheLockIsNamedByItsPID() throws {
        try withJournalFolder { state, inventory in
            let first = try openJournal(state, inventory)
            let lockPath = first.lockPath
            first.close()
            let holder = try LockHolder(lockPath: lockPath, writePID: true)
            let pid = holder.process.processIdentifier
            let error = #expect(throws: JournalError.self) {
                _ = try openJournal(state, inventory)
            }
            if let error {
                guard case .locked(let found, let instance, let inventoryPath, let path) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(found.pid == pid)
                #expect(found.started.map(Timestamp.string) == "2026-05-01T09:00:00.000Z")
                #expect(instance == "lab")
                #expect(inventoryPath == JournalLocation.canonicalInventoryPath(inventory))
                #expect(path == lockPath)
                #expect(
                    error.description
                        == "Another octoprov (PID \(pid), started 2026-05-01T09:00:00.000Z) is provisioning instance lab "
                        + "of inventory \(inventoryPath); wait for it to finish or stop it (`kill \(pid)`), then run "
                        + "again (lock: \(lockPath))."
                )
            }
            try holder.stop()
            // Once the holder is gone, the next run takes the lock.
            let journal = try openJournal(state, inventory)
            let text = try String(contentsOfFile: lockPath, encoding: .utf8)
            #expect(text.hasPrefix("{\"pid\":\(getpid()),"))
            journal.close()
        }
    }

    @Test func aHolderThatWroteNothingIsStillNamedFromTheKernel() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            let lockPath = journal.lockPath
            journal.close()
            // The file still names this process (stale text from the run that just ended); the kernel's word wins.
            let holder = try LockHolder(lockPath: lockPath, writePID: false)
            defer { try? holder.stop() }
            let error = #expect(throws: JournalError.self) {
                _ = try openJournal(state, inventory)
            }
            guard case .locked(let found, _, _, _) = error else {
                Issue.record("expected a lock error, got \(String(describing: error))")
                return
            }
            #expect(found.pid == holder.process.processIdentifier)
            #expect(found.pid != getpid())
        }
    }

    @Test func theLockIsARealFlockThatAnotherProcessSeesAndAKilledHolderReleases() throws {
        try withJournalFolder { state, inventory in
            let journal = try openJournal(state, inventory)
            let probe = """
                import fcntl, os, sys
                fd = os.open(sys.argv[1], os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    print("free")
                except BlockingIOError:
                    print("held by " + open(sys.argv[1]).read().strip())
                """
            let held = try runTool(["python3", "-c", probe, journal.lockPath])
            #expect(held.stdout.hasPrefix("held by {\"pid\":\(getpid()),"), "\(held.stderr)")
            journal.close()
            let free = try runTool(["python3", "-c", probe, journal.lockPath])
            #expect(free.stdout == "free\n", "\(free.stderr)")

            // A holder killed with SIGKILL leaves its text behind; the kernel released its lock.
            let holder = try LockHolder(lockPath: journal.lockPath, writePID: true)
            kill(holder.process.processIdentifier, SIGKILL)
            holder.process.waitForExit(timeout: 60)
            let next = try openJournal(state, inventory)
            #expect(try String(contentsOfFile: next.lockPath, encoding: .utf8).hasPrefix("{\"pid\":\(getpid()),"))
        }
    }

    @Test func locksAreParsedFromProcLocks() {
        let locks = """
            1: POSIX  ADVISORY  WRITE 77 fe:01:99 0 EOF
            2: FLOCK  ADVISORY  WRITE 1234 fe:01:16221801 0 EOF
            2: -> FLOCK  ADVISORY  WRITE 555 fe:01:16221801 0 EOF
            3: FLOCK  ADVISORY  WRITE 4321 00:2a:16221801 0 EOF
            """
        let device = (UInt64(0xfe) << 8) | 0x01
        #expect(JournalLock.lockingPID(device: device, inode: 16_221_801, locks: locks) == 1234)
        #expect(JournalLock.lockingPID(device: device, inode: 99, locks: locks) == nil)
        #expect(JournalLock.lockingPID(device: 7, inode: 16_221_801, locks: locks) == nil)
        #expect(
            JournalLock.lockingPID(device: 7, inode: 16_221_801, locks: String(locks.split(separator: "\n")[1])) == 1234
        )
    }
}

// MARK: - Upgrade state

@Suite struct JournalUpgradedVersionTests {
    @Test func theUpgradeJournalSaysWhichVersionAHostRuns() throws {
        try withJournalFolder { stateDirectory, inventory in
            let journal = try openJournal(stateDirectory, inventory, instance: "lab@upgrade")
            defer { journal.close() }
            let steps = StepCatalogue.upgrade.map(\.name)
            journal.declareSteps(steps, host: "vm1")
            #expect(journal.upgradedVersion(host: "vm1") == nil)
            #expect(Journal?.none?.upgradedVersion(host: "vm1") == nil)

            // A → B, stopped before the database was upgraded: still at A.
            let toB = ["from_version": "2023.3.13026", "target_version": "2024.1.11892"]
            try record(
                journal,
                host: "vm1",
                step: "upgrade-preflight",
                hash: journal.inputHash(parts: ["to": "B"]),
                facts: toB
            )
            try record(journal, host: "vm1", step: "drain", hash: journal.inputHash(parts: ["to": "B"]))
            #expect(journal.upgradedVersion(host: "vm1") == "2023.3.13026")

            // Once the database is upgraded: at B.
            try record(journal, host: "vm1", step: "upgrade-database", hash: journal.inputHash(parts: ["to": "B"]))
            #expect(journal.upgradedVersion(host: "vm1") == "2024.1.11892")

            // B → C failing after its preflight: still at B (the preflight's new input reruns the later steps).
            let toC = ["from_version": "2024.1.11892", "target_version": "2025.2.1"]
            let hashC = journal.inputHash(parts: ["to": "C"])
            _ = journal.decision(host: "vm1", step: "upgrade-preflight", inputHash: hashC)
            try record(journal, host: "vm1", step: "upgrade-preflight", hash: hashC, facts: toC)
            try record(journal, host: "vm1", step: "drain", hash: hashC, status: .failed)
            #expect(journal.upgradedVersion(host: "vm1") == "2024.1.11892")

            // `rebuild` clears the journal: it says nothing any more.
            try journal.reset(host: "vm1", from: "upgrade-preflight")
            #expect(journal.upgradedVersion(host: "vm1") == nil)
            #expect(journal.upgradedVersion(host: "vm2") == nil)
        }
    }
}

// MARK: - Clone state

@Suite struct JournalRestoredBackupTests {
    @Test func theJournalSaysWhichBackupAClonesDatabaseHolds() throws {
        try withJournalFolder { stateDirectory, inventory in
            let journal = try openJournal(stateDirectory, inventory)
            defer { journal.close() }
            journal.declareSteps(cloneSteps, host: "vm1")
            let first = String(repeating: "a1", count: 32)
            let hash = journal.inputHash(parts: ["backup_sha256": first])
            try record(journal, host: "vm1", step: "upload-backup", hash: hash, facts: ["backup_sha256": first])
            try record(journal, host: "vm1", step: "restore", hash: hash)
            // Uploaded and restored, not yet quarantined: nothing to check a clone against.
            #expect(journal.restoredBackup(host: "vm1") == nil)
            try record(journal, host: "vm1", step: "quarantine", hash: hash, status: .ok)
            #expect(journal.restoredBackup(host: "vm1") == first)
            #expect(journal.restoredBackup(host: "vm2") == nil)

            // A newer backup uploaded, its restore failed: the journal no longer vouches for either.
            let second = String(repeating: "b2", count: 32)
            let newer = journal.inputHash(parts: ["backup_sha256": second])
            try record(journal, host: "vm1", step: "upload-backup", hash: newer, facts: ["backup_sha256": second])
            try record(journal, host: "vm1", step: "restore", hash: newer, status: .failed)
            #expect(journal.restoredBackup(host: "vm1") == nil)

            // Restored and quarantined again: the newer one.
            try record(journal, host: "vm1", step: "restore", hash: newer)
            try record(journal, host: "vm1", step: "quarantine", hash: newer)
            #expect(journal.restoredBackup(host: "vm1") == second)

            // A fact that is not a checksum is not taken for one; `rebuild` clears the journal.
            try record(journal, host: "vm1", step: "upload-backup", hash: newer, facts: ["backup_sha256": "B2"])
            #expect(journal.restoredBackup(host: "vm1") == nil)
            try record(journal, host: "vm1", step: "upload-backup", hash: newer, facts: ["backup_sha256": second])
            try journal.resetAll(host: "vm1")
            #expect(journal.restoredBackup(host: "vm1") == nil)
        }
    }
}
