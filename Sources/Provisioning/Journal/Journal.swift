public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The provisioning journal of one instance of one inventory: per host, per step, its status, input hash, times,
/// message and facts, so that a rerun skips what is done, a killed run resumes where it stopped, and a changed
/// input reruns the step that depends on it and every step after it on that host. docs/journal.md describes the
/// file.
///
/// ``open(inventory:instance:stateDirectory:redactor:environment:now:)`` takes an exclusive lock that the journal
/// holds until ``close()`` (or until it is released, or the process ends); a second octoprov on the same instance
/// and inventory gets ``JournalError/locked(holder:instance:inventory:lockPath:)`` naming the holder's PID.
///
/// Every change (``markRunning(host:step:inputHash:)``, ``markFinished(host:step:status:message:facts:duration:)``,
/// ``reset(host:from:)``) is written to disk before the call returns, atomically (``AtomicFile``): after a crash the
/// file holds the state before or after that change, never a mix. A failed write leaves the journal as it was
/// before the call, in memory and on disk.
///
/// Thread safety: a journal is `Sendable` and is meant to be shared by the tasks of hosts running in parallel.
/// Every method runs under one `Mutex`, including the file write of a change, so changes are applied and written
/// one at a time and none is lost. A change blocks its thread for the write and `fsync` (milliseconds), which is
/// why decisions, which are asked most often, never write.
public final class Journal: Sendable {
    /// The file format this octoprov writes and reads.
    public static let format = 1

    /// The journal file.
    public let path: String
    /// Its lock file.
    public let lockPath: String
    /// Its secret file (``storeSecret(_:named:host:)``), created when the first secret is stored.
    public let secretsPath: String
    /// The inventory's canonical path, as recorded.
    public let inventory: String
    /// The instance's name.
    public let instance: String
    /// The salt keying this journal's ``InputHash``es.
    public let salt: JournalSalt
    /// What opening found and fixed, one sentence each (a corrupt journal or secret file moved aside); the runner
    /// prints them.
    public let warnings: [String]

    private let redactor: Redactor
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    private struct State {
        var document: JournalDocument
        /// The generated secrets: host → name → value.
        var secrets: [String: [String: String]]
        /// The lock's descriptor, `nil` once closed.
        var lock: Int32?
        /// Set by tests: the next write leaves its temporary file, skips the rename and fails like this, as a crash
        /// between the two would.
        var crashBeforeRename: FileOperationError?
    }

    private init(
        path: String,
        lockPath: String,
        document: JournalDocument,
        secrets: [String: [String: String]],
        lock: Int32,
        warnings: [String],
        redactor: Redactor,
        now: @escaping @Sendable () -> Date
    ) {
        self.path = path
        self.lockPath = lockPath
        self.secretsPath = JournalSecretFile.path(forJournal: path)
        self.inventory = document.inventory
        self.instance = document.instance
        self.salt = document.salt
        self.warnings = warnings
        self.redactor = redactor
        self.now = now
        self.state = Mutex(State(document: document, secrets: secrets, lock: lock, crashBeforeRename: nil))
    }

    deinit {
        state.withLock { state in
            if let fd = state.lock { JournalLock.release(fd) }
            state.lock = nil
        }
    }

    // MARK: - Opening

    /// Opens (or starts) the journal of `instance` of the inventory at `inventory`, taking its lock.
    ///
    /// The journal is `<state dir>/journal/<inventory>-<instance>-<12 hex>.json` (``JournalLocation``); the folders are created
    /// (mode 0700) when missing. A missing file starts an empty journal with a new salt, written at the first change.
    /// Temporary files a crashed write left beside it are removed. A file that is not a readable journal (torn,
    /// edited, another instance's, or of a newer format than this octoprov's) is renamed `<name>.corrupt-<UTC time>` and the journal starts empty, with a
    /// sentence in ``warnings``: every step then runs again, which is safe because steps are idempotent.
    ///
    /// - Parameters:
    ///   - inventory: The inventory file's path as given (made absolute and canonical).
    ///   - instance: The instance's name.
    ///   - stateDirectory: `--state-dir`, or `nil` for ``JournalLocation/defaultStateDirectory(environment:)``.
    ///   - redactor: Hides secrets in messages and facts, again, before they are written.
    ///   - environment: The environment the default state folder is read from.
    ///   - now: The clock for times in the journal and the lock.
    /// - Returns: The open journal, holding the lock.
    /// - Throws: ``JournalError/locked(holder:instance:inventory:lockPath:)`` when another process holds the lock;
    ///   ``JournalError/file(_:)`` when a folder, the lock or the file cannot be created, read or moved.
    public static func open(
        inventory: String,
        instance: String,
        stateDirectory: String? = nil,
        redactor: Redactor = .none,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(JournalError) -> Journal {
        let inventoryPath = JournalLocation.canonicalInventoryPath(inventory)
        let directory = stateDirectory ?? JournalLocation.defaultStateDirectory(environment: environment)
        let path = JournalLocation.journalPath(
            stateDirectory: directory,
            inventoryPath: inventoryPath,
            instance: instance
        )
        let lockPath = JournalLocation.lockPath(forJournal: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(
                atPath: folder,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw .file(FileOperationError(path: folder, operation: "create the folder", reason: "\(error)"))
        }
        let attempt: JournalLock.Attempt
        do {
            attempt = try JournalLock.acquire(lockPath, now: now())
        } catch {
            throw .file(error)
        }
        let fd: Int32
        switch attempt {
        case .acquired(let descriptor): fd = descriptor
        case .held(let holder):
            throw .locked(holder: holder, instance: instance, inventory: inventoryPath, lockPath: lockPath)
        }
        do {
            let secretsPath = JournalSecretFile.path(forJournal: path)
            for leftover in AtomicFile.leftovers(of: path) + AtomicFile.leftovers(of: secretsPath) {
                unlink(leftover)
            }
            var warnings: [String] = []
            let document = try load(
                path: path,
                inventory: inventoryPath,
                instance: instance,
                now: now(),
                warnings: &warnings
            )
            let secrets = try loadSecrets(path: secretsPath, now: now(), warnings: &warnings)
            return Journal(
                path: path,
                lockPath: lockPath,
                document: document,
                secrets: secrets,
                lock: fd,
                warnings: warnings,
                redactor: redactor,
                now: now
            )
        } catch {
            JournalLock.release(fd)
            throw error
        }
    }

    /// Reads the journal at `path`, or starts one; moves a corrupt file aside.
    private static func load(
        path: String,
        inventory: String,
        instance: String,
        now: Date,
        warnings: inout [String]
    ) throws(JournalError) -> JournalDocument {
        let fresh = JournalDocument(
            inventory: inventory,
            instance: instance,
            salt: .random(),
            created: Timestamp.rounded(now),
            updated: Timestamp.rounded(now),
            hosts: [:]
        )
        guard let data = try read(path) else { return fresh }
        let reason: String
        do {
            let document = try JournalDocument.decode(data)
            if document.inventory == inventory && document.instance == instance {
                return document
            }
            reason = "it belongs to instance \(document.instance) of inventory \(document.inventory)"
        } catch {
            switch error {
            case .newerFormat(let format):
                reason = "its format \(format) is newer than this octoprov's \(Journal.format)"
            case .corrupt(let why): reason = why
            }
        }
        let aside = try moveAside(path, now: now)
        warnings.append(
            "The journal \(path) could not be read (\(reason)); it was moved to \(aside) and every step of instance "
                + "\(instance) will run again."
        )
        return fresh
    }

    /// Reads the secret file at `path`, or starts none; moves an unreadable file aside.
    private static func loadSecrets(
        path: String,
        now: Date,
        warnings: inout [String]
    ) throws(JournalError) -> [String: [String: String]] {
        guard let data = try read(path) else { return [:] }
        let reason: String
        switch JournalSecretFile.decode(data) {
        case .success(let secrets): return secrets
        case .failure(.newerFormat(let format)):
            reason = "its format \(format) is newer than this octoprov's \(JournalSecretFile.format)"
        case .failure(.corrupt(let why)): reason = why
        }
        let aside = try moveAside(path, now: now)
        warnings.append(
            "The journal's secret file \(path) could not be read (\(reason)); it was moved to \(aside) and the "
                + "secrets octoprov generates (the admin API key) will be created again."
        )
        return [:]
    }

    /// The bytes of `path`, or `nil` when it does not exist.
    private static func read(_ path: String) throws(JournalError) -> Data? {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            if access(path, F_OK) != 0 && errno == ENOENT { return nil }
            throw .file(FileOperationError(path: path, operation: "read", reason: "\(error)"))
        }
    }

    /// Renames `path` to `<path>.corrupt-<UTC time>` (with `-2`, `-3`, … when taken); returns the new path.
    private static func moveAside(_ path: String, now: Date) throws(JournalError) -> String {
        var aside = "\(path).corrupt-\(Timestamp.fileNameString(now))"
        var suffix = 2
        while access(aside, F_OK) == 0 {
            aside = "\(path).corrupt-\(Timestamp.fileNameString(now))-\(suffix)"
            suffix += 1
        }
        guard rename(path, aside) == 0 else {
            throw .file(FileOperationError(path: path, operation: "move the unreadable file aside", code: errno))
        }
        return aside
    }

    /// Releases the lock. The journal can still be read; changes then throw ``JournalError/closed(path:)``.
    /// Called by `deinit` too.
    public func close() {
        state.withLock { state in
            if let fd = state.lock { JournalLock.release(fd) }
            state.lock = nil
        }
    }

    // MARK: - Hashes

    /// The input hash of `parts` and `secrets` with this journal's salt (``InputHash``).
    ///
    /// - Parameters:
    ///   - parts: Named inputs (rendered script, SQL, facts, settings).
    ///   - secrets: Secret values by name; only their salted digests are hashed in.
    /// - Returns: The hash to pass to ``decision(host:step:inputHash:)`` and ``markRunning(host:step:inputHash:)``.
    public func inputHash(parts: [String: String], secrets: [String: String] = [:]) -> InputHash {
        InputHash(parts: parts, secrets: secrets, salt: salt)
    }

    // MARK: - Decisions

    /// Sets the order of `host`'s steps, which decides what "later steps" are. Steps not in the journal yet are
    /// added as `pending`; recorded steps missing from `steps` are kept after them. Kept in memory and written with
    /// the next change. Without it, steps are ordered as they are first seen.
    ///
    /// - Parameters:
    ///   - steps: The host's step names, in the order they run.
    ///   - host: The host's name.
    public func declareSteps(_ steps: [String], host: String) {
        state.withLock { state in
            let existing = state.document.hosts[host] ?? []
            var byName: [String: JournalStepRecord] = [:]
            for record in existing where byName[record.step] == nil {
                byName[record.step] = record
            }
            var ordered: [JournalStepRecord] = []
            for step in steps where !ordered.contains(where: { $0.step == step }) {
                ordered.append(byName.removeValue(forKey: step) ?? JournalStepRecord(step: step))
            }
            ordered += existing.filter { byName[$0.step] != nil }
            state.document.hosts[host] = ordered
        }
    }

    /// Whether `step` must run on `host` with `inputHash`, and why.
    ///
    /// It runs when it never ran, failed, was running when a run stopped, when its input hash differs from the one
    /// it last started with, or when an earlier step reran because of a changed input or `--from-step` named it or an
    /// earlier step. When the input hash differs, every later step of the host is marked to rerun
    /// (``RerunCause/afterChange(of:)``, "after <step> changed"), in memory now and on disk with the next change,
    /// which is this step's ``markRunning(host:step:inputHash:)``. Otherwise it is skipped.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The step's name.
    ///   - inputHash: The step's input hash for this run.
    /// - Returns: `.skip` or `.run` with the reason.
    public func decision(host: String, step: String, inputHash: InputHash) -> StepDecision {
        state.withLock { state in
            var records = state.document.hosts[host] ?? []
            let index = Self.index(of: step, in: &records)
            let record = records[index]
            let changed = record.inputHash.map { $0 != inputHash } ?? false
            if changed {
                Self.invalidate(after: index, in: &records, cause: .afterChange(of: step))
            }
            state.document.hosts[host] = records
            switch record.status {
            case .running: return .run(.interrupted)
            case .failed: return .run(.failedLastTime)
            case .pending: return .run(record.rerun.map(RunReason.rerun) ?? .neverRan)
            case .ok, .changed:
                if let cause = record.rerun { return .run(.rerun(cause)) }
                if record.inputHash != inputHash { return .run(.inputChanged) }
                return .skip(SkipReason(status: record.status, finished: record.finished))
            }
        }
    }

    // MARK: - Changes

    /// Records that `step` started on `host` with `inputHash`, and writes the journal.
    ///
    /// When the hash differs from the step's last one, the host's later steps are marked to rerun.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The step's name.
    ///   - inputHash: The step's input hash for this run.
    /// - Throws: ``JournalError/file(_:)`` when the write fails (the journal is then unchanged);
    ///   ``JournalError/closed(path:)`` after ``close()``.
    public func markRunning(host: String, step: String, inputHash: InputHash) throws(JournalError) {
        let started = Timestamp.rounded(now())
        try change { document throws(JournalError) in
            var records = document.hosts[host] ?? []
            let index = Self.index(of: step, in: &records)
            if let previous = records[index].inputHash, previous != inputHash {
                Self.invalidate(after: index, in: &records, cause: .afterChange(of: step))
            }
            records[index].status = .running
            records[index].inputHash = inputHash
            records[index].started = started
            records[index].finished = nil
            records[index].duration = nil
            records[index].message = nil
            document.hosts[host] = records
        }
    }

    /// Records how `step` ended on `host`, and writes the journal.
    ///
    /// `message` and the facts are redacted again with the journal's ``Redactor``. A successful finish (`ok`,
    /// `changed`) clears the step's rerun mark; a failure keeps it.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The step's name; it must be running (``markRunning(host:step:inputHash:)``).
    ///   - status: How it ended.
    ///   - message: The result's one-line message, already redacted by the caller.
    ///   - facts: The facts it reported (they replace the earlier ones).
    ///   - duration: How long it took.
    /// - Throws: ``JournalError/notRunning(host:step:path:)`` when the step is not running;
    ///   ``JournalError/file(_:)`` when the write fails (the journal is then unchanged);
    ///   ``JournalError/closed(path:)`` after ``close()``.
    public func markFinished(
        host: String,
        step: String,
        status: StepOutcome,
        message: String?,
        facts: [String: String] = [:],
        duration: Duration
    ) throws(JournalError) {
        let finished = Timestamp.rounded(now())
        let message = message.map(redactor.redact)
        var cleanFacts: [String: String] = [:]
        for (key, value) in facts {
            cleanFacts[redactor.redact(key)] = redactor.redact(value)
        }
        let path = self.path
        try change { [cleanFacts] document throws(JournalError) in
            var records = document.hosts[host] ?? []
            guard let index = records.firstIndex(where: { $0.step == step }), records[index].status == .running else {
                throw .notRunning(host: host, step: step, path: path)
            }
            records[index].status = status.status
            records[index].finished = finished
            records[index].duration = duration
            records[index].message = message
            records[index].facts = cleanFacts
            if status != .failed {
                records[index].rerun = nil
            }
            document.hosts[host] = records
        }
    }

    /// Marks `step` and every later step of `host` to rerun (`--from-step`), and writes the journal. A host with no
    /// recorded steps is left alone: all its steps run anyway.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The first step to rerun; declare the host's steps (``declareSteps(_:host:)``) first so that every
    ///     step of the plan is known.
    /// - Throws: ``JournalError/unknownStep(host:step:known:path:)`` when the host has recorded steps but not this
    ///   one; ``JournalError/file(_:)``; ``JournalError/closed(path:)``.
    public func reset(host: String, from step: String) throws(JournalError) {
        let path = self.path
        let known = state.withLock { $0.document.hosts[host] ?? [] }
        guard !known.isEmpty else { return }
        try change { document throws(JournalError) in
            var records = document.hosts[host] ?? []
            guard let index = records.firstIndex(where: { $0.step == step }) else {
                throw .unknownStep(host: host, step: step, known: records.map(\.step), path: path)
            }
            for later in index..<records.count {
                records[later].rerun = .fromStep(step)
            }
            document.hosts[host] = records
        }
    }

    /// Marks every recorded step of `host` to rerun, as after its instance was torn down (`rebuild`); a host with no
    /// recorded steps is left alone.
    ///
    /// - Parameter host: The host's name.
    /// - Throws: ``JournalError/file(_:)``; ``JournalError/closed(path:)``.
    public func resetAll(host: String) throws(JournalError) {
        guard let first = records(host: host).first?.step else { return }
        try reset(host: host, from: first)
    }

    // MARK: - Generated secrets

    /// The secret named `name` that octoprov generated for `host` in an earlier run (``storeSecret(_:named:host:)``).
    ///
    /// - Parameters:
    ///   - name: The secret's stdin name, such as `admin_api_key`.
    ///   - host: The host's name.
    /// - Returns: The value, or `nil` when none was stored.
    public func storedSecret(named name: String, host: String) -> String? {
        state.withLock { $0.secrets[host]?[name] }
    }

    /// Keeps a secret octoprov generated for `host` (the `admin_api_key`) in the journal's secret file, so that later
    /// runs use the same value. The file (``secretsPath``, mode 0600) is written atomically before the call returns;
    /// the journal file never holds the value.
    ///
    /// - Parameters:
    ///   - value: The secret.
    ///   - name: Its stdin name.
    ///   - host: The host's name.
    /// - Throws: ``JournalError/file(_:)`` when the write fails (nothing is then stored);
    ///   ``JournalError/closed(path:)`` after ``close()``.
    public func storeSecret(_ value: String, named name: String, host: String) throws(JournalError) {
        let path = self.path
        let secretsPath = self.secretsPath
        try state.withLock { state throws(JournalError) in
            guard state.lock != nil else { throw .closed(path: path) }
            var secrets = state.secrets
            secrets[host, default: [:]][name] = value
            do throws(FileOperationError) {
                try AtomicFile.write(JournalSecretFile.encoded(secrets), to: secretsPath, permissions: 0o600)
            } catch {
                throw .file(error)
            }
            state.secrets = secrets
        }
    }

    // MARK: - Reading

    /// Whether `step` last finished successfully on `host` and nothing has marked it to run again since: what
    /// `start` checks of `quarantine` before it starts a service.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The step's name.
    /// - Returns: `true` when the step's status is `ok` or `changed` and it has no rerun mark.
    public func succeeded(host: String, step: String) -> Bool {
        guard let record = record(host: host, step: step) else { return false }
        return (record.status == .ok || record.status == .changed) && record.rerun == nil
    }

    /// The hosts with steps in the journal, sorted.
    public var hosts: [String] {
        state.withLock { $0.document.hosts.keys.sorted() }
    }

    /// `host`'s steps in order.
    ///
    /// - Parameter host: The host's name.
    /// - Returns: Its records; empty when the journal has none.
    public func records(host: String) -> [JournalStepRecord] {
        state.withLock { $0.document.hosts[host] ?? [] }
    }

    /// One step's record.
    ///
    /// - Parameters:
    ///   - host: The host's name.
    ///   - step: The step's name.
    /// - Returns: The record, or `nil` when the journal has none.
    public func record(host: String, step: String) -> JournalStepRecord? {
        state.withLock { $0.document.hosts[host]?.first { $0.step == step } }
    }

    /// When the journal last changed.
    public var updated: Date {
        state.withLock { $0.document.updated }
    }

    /// A readable account of the journal: a header, then per host one line per step with its status, finish time,
    /// duration, rerun mark and message.
    ///
    /// - Returns: The text, ending with a newline.
    public func summary() -> String {
        let document = state.withLock { $0.document }
        var lines = [
            "Journal \(path) (format \(Self.format))",
            "  instance \(document.instance) of inventory \(document.inventory), updated "
                + Timestamp.string(document.updated),
        ]
        if document.hosts.isEmpty {
            lines.append("  no steps recorded yet")
        }
        for host in document.hosts.keys.sorted() {
            lines.append("  \(host)")
            let records = document.hosts[host] ?? []
            let width = records.map(\.step.count).max() ?? 0
            for (index, record) in records.enumerated() {
                var line =
                    String(format: "    %2d. ", index + 1) + record.step.padding(width) + "  "
                    + record.status.rawValue.padding(7)
                if let finished = record.finished {
                    line += "  " + Timestamp.string(finished)
                } else if record.status == .running, let started = record.started {
                    line += "  started " + Timestamp.string(started)
                }
                if let duration = record.duration {
                    line += String(format: "  %.3f s", duration.roundedSeconds)
                }
                if let rerun = record.rerun {
                    line += "  (reruns: \(rerun))"
                }
                if let message = record.message, !message.isEmpty {
                    line += "  " + message.replacingOccurrences(of: "\n", with: " ")
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Internals

    /// Applies `body` to the document and writes it; on any failure restores the document as it was.
    private func change(_ body: (inout JournalDocument) throws(JournalError) -> Void) throws(JournalError) {
        let updated = Timestamp.rounded(now())
        let path = self.path
        try state.withLock { state throws(JournalError) in
            guard state.lock != nil else { throw .closed(path: path) }
            var document = state.document
            try body(&document)
            document.updated = updated
            do throws(FileOperationError) {
                let pending = try AtomicFile.prepare(document.encoded(), for: path, permissions: 0o600)
                if let crash = state.crashBeforeRename {
                    state.crashBeforeRename = nil
                    throw crash
                }
                try pending.commit()
            } catch {
                throw .file(error)
            }
            state.document = document
        }
    }

    /// Makes the next write fail between writing its temporary file and renaming it, as a crash there would (tests).
    func simulateCrashBeforeRename(_ error: FileOperationError) {
        state.withLock { $0.crashBeforeRename = error }
    }

    /// The index of `step` in `records`, appending a pending record when it is new.
    private static func index(of step: String, in records: inout [JournalStepRecord]) -> Int {
        if let index = records.firstIndex(where: { $0.step == step }) { return index }
        records.append(JournalStepRecord(step: step))
        return records.count - 1
    }

    /// Marks every step after `index` to rerun with `cause`, keeping an earlier cause.
    private static func invalidate(after index: Int, in records: inout [JournalStepRecord], cause: RerunCause) {
        for later in records.indices where later > index && records[later].rerun == nil {
            records[later].rerun = cause
        }
    }
}

extension String {
    /// The text padded with spaces to `width` characters.
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
