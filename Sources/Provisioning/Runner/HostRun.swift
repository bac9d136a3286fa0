import Foundation
public import Logging
import SSHKit

/// Runs one host's plan over a ``HostTransport``, step by step, in order (docs/steps.md, docs/provision.md).
///
/// A step runs unless both the journal and the host agree it already finished with the same input: the journal
/// (on octoprov's side) records each step's input hash, and the host keeps the hashes of its finished steps in
/// `work_dir/octoprov-steps.json`. A fresh or rebuilt VM has no such file, so everything runs again there, and each
/// script probes before acting anyway. `verify` always runs. The first failing step ends the host; the steps after
/// it are reported `not-run`.
public struct HostRun: Sendable {
    /// The REST verification of the `verify` step (through a port forward to the clone's API), given the host's
    /// plan, its secrets and the facts its earlier steps reported, by step.
    public typealias Verifier =
        @Sendable (ProvisioningPlan.HostPlan, StepSecretValues, _ stepFacts: [String: [String: String]]) async throws
        -> [VerifyCheckResult]

    /// The file on the host holding the input hashes of its finished steps.
    public static let markerName = "octoprov-steps.json"

    /// The host's plan.
    public var plan: ProvisioningPlan.HostPlan
    /// The secrets its steps read on stdin.
    public var secrets: StepSecretValues
    /// Hides every secret in what is printed or recorded.
    public var redactor: Redactor
    /// The run's journal: where this flow's steps are recorded.
    public var journal: Journal
    /// The provisioning journal of the instance, when ``journal`` is another flow's (`upgrade`): a clone's `start`
    /// still needs its quarantine to have succeeded there. `nil` means ``journal``.
    public var provisionJournal: Journal?
    /// The flow the plan runs (``ProvisioningPlan/Flow/name``): flows other than `provision` keep their own marker
    /// on the host, so that an upgrade's `install` never stands for provisioning's.
    public var flowName = "provision"
    /// `--from-step`: run this step and every later one even when they are recorded as done.
    public var fromStep: StepName?
    /// Run only this step (`octoprov verify`); the others are neither run nor reported.
    public var onlyStep: StepName?
    /// The SHA-256 of the local package file octoprov uploads, computed once per run (`nil` for a URL).
    public var localPackageSHA256: String?
    /// How often a long-running script's elapsed time is reported.
    public var heartbeat: Duration = .seconds(30)
    /// The REST verification.
    public var verifier: Verifier?
    /// The test-instance flow's `import-projects` over Export/Import Projects.
    public var projectImporter: ProjectImport.Importer?
    /// Where progress goes.
    public var events: @Sendable (ProvisionEvent) -> Void
    /// How octoprov connects to the Migrator route's source host (``ProvisioningPlan/SourceHostPlan``).
    public var connector: any HostConnector

    /// The SSH layer's logger of every octoprov command: warnings on stderr, debug detail with `verbose`.
    ///
    /// - Parameter verbose: `--verbose`.
    /// - Returns: The logger.
    public static func logger(verbose: Bool) -> Logger {
        var logger = Logger(label: "octoprov") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .trace
            return handler
        }
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    /// Creates a provisioner for one host.
    public init(
        plan: ProvisioningPlan.HostPlan,
        secrets: StepSecretValues,
        redactor: Redactor,
        journal: Journal,
        fromStep: StepName? = nil,
        onlyStep: StepName? = nil,
        localPackageSHA256: String? = nil,
        verifier: Verifier? = nil,
        projectImporter: ProjectImport.Importer? = nil,
        connector: any HostConnector,
        events: @escaping @Sendable (ProvisionEvent) -> Void
    ) {
        self.connector = connector
        self.projectImporter = projectImporter
        self.localPackageSHA256 = localPackageSHA256
        self.plan = plan
        self.secrets = secrets
        self.redactor = redactor
        self.journal = journal
        self.fromStep = fromStep
        self.onlyStep = onlyStep
        self.verifier = verifier
        self.events = events
    }

    var hostName: String { plan.host.name }
    /// The host's marker file for this flow: ``markerName`` for provisioning, `octoprov-<flow>-steps.json` else.
    var markerName: String { flowName == "provision" ? Self.markerName : "octoprov-\(flowName)-steps.json" }
    var workDirectory: String { plan.variables["work_dir"] ?? "" }

    /// Runs every step on the host.
    ///
    /// - Parameter transport: An open transport to the host.
    /// - Returns: What happened, step by step.
    public func run(transport: any HostTransport) async -> HostRunRecord {
        let clock = ContinuousClock()
        let started = clock.now
        var records: [StepRunRecord] = []
        var checks: [VerifyCheckResult] = []
        var failure: String?
        // When the step now running began, for the duration of one cut off by a lost connection.
        var runningSince = clock.now
        journal.declareSteps(plan.steps.map(\.definition.name), host: hostName)
        if let fromStep {
            guard plan.steps.contains(where: { $0.definition.stepName == fromStep }) else {
                return HostRunRecord(
                    host: hostName,
                    instance: plan.instance.name,
                    steps: [],
                    checks: [],
                    failure: "--from-step \(fromStep) is not a step of the \(plan.instance.mode) flow; use one of: "
                        + plan.steps.map(\.definition.name).joined(separator: ", ") + ".",
                    duration: .zero
                )
            }
            do {
                try journal.reset(host: hostName, from: fromStep.rawValue)
            } catch {
                // Without the reset, steps asked to run again would be skipped as done: refuse instead.
                return HostRunRecord(
                    host: hostName,
                    instance: plan.instance.name,
                    steps: [],
                    checks: [],
                    failure: "Nothing was changed: the journal could not mark \(fromStep) and later steps to run "
                        + "again (\(error)).",
                    duration: .zero
                )
            }
        }
        do {
            try await transport.withFiles { files in
                try await files.makeDirectories(workDirectory, mode: 0o700)
                var marker = try await readMarker(files)
                // What earlier runs found, for steps skipped now (verify compares with the quarantine's counts).
                // Another flow (upgrade) starts from provisioning's facts, then its own.
                var facts: [String: [String: String]] = [:]
                for record in (provisionJournal?.records(host: hostName) ?? []) + journal.records(host: hostName)
                where !record.facts.isEmpty {
                    facts[record.step] = record.facts
                }
                var forced = false
                for step in plan.steps {
                    let name = step.definition.name
                    if let onlyStep, step.definition.stepName != onlyStep { continue }
                    if failure != nil {
                        records.append(
                            StepRunRecord(
                                position: step.position,
                                step: name,
                                status: .notRun,
                                message: "Not run: an earlier step failed."
                            )
                        )
                        continue
                    }
                    if step.definition.stepName == fromStep { forced = true }
                    let hash = try inputHash(of: step)
                    let decision = journal.decision(host: hostName, step: name, inputHash: hash)
                    let alwaysRuns = step.definition.behaviour.alwaysRuns
                    if !forced, !alwaysRuns, !decision.shouldRun, marker[name] == hash.hex {
                        let previous = journal.record(host: hostName, step: name)
                        let when = previous?.finished.map { " at \(Timestamp.string($0))" } ?? ""
                        let record = StepRunRecord(
                            position: step.position,
                            step: name,
                            status: .ok,
                            message: "Done in an earlier run (\(previous?.status.description ?? "ok")\(when)) with the "
                                + "same input; not run again.",
                            facts: previous?.facts ?? [:]
                        )
                        facts[name] = record.facts
                        records.append(record)
                        events(.stepFinished(host: hostName, record: record))
                        continue
                    }
                    events(
                        .stepStarted(
                            host: hostName,
                            position: step.position,
                            step: name,
                            summary: step.definition.summary
                        )
                    )
                    try journal.markRunning(host: hostName, step: name, inputHash: hash)
                    let stepStarted = clock.now
                    runningSince = stepStarted
                    var outcome: StepOutcomeValue
                    do {
                        outcome = try await perform(step, transport: transport, files: files, facts: facts)
                    } catch let error as SSHError where error.code == .disconnected || error.code == .cancelled {
                        throw error
                    } catch {
                        outcome = StepOutcomeValue(
                            status: .failed,
                            message: stepFailure(name, error),
                            facts: [:],
                            checks: []
                        )
                    }
                    let duration = stepStarted.duration(to: clock.now)
                    let record = StepRunRecord(
                        position: step.position,
                        step: name,
                        status: outcome.status,
                        message: redactor.redact(outcome.message),
                        duration: duration,
                        facts: outcome.facts.mapValues(redactor.redact)
                    )
                    checks += outcome.checks
                    try journal.markFinished(
                        host: hostName,
                        step: name,
                        status: outcome.status == .failed ? .failed : (outcome.status == .changed ? .changed : .ok),
                        message: record.message,
                        facts: record.facts,
                        duration: duration
                    )
                    records.append(record)
                    events(.stepFinished(host: hostName, record: record))
                    facts[name] = record.facts
                    if outcome.status == .failed {
                        failure = "Step \(name) failed: \(record.message)"
                    } else if !alwaysRuns {
                        marker[name] = hash.hex
                        try await writeMarker(marker, files: files)
                    }
                }
            }
        } catch {
            let remaining = plan.steps.filter { step in
                (onlyStep == nil || step.definition.stepName == onlyStep)
                    && !records.contains { $0.step == step.definition.name }
            }
            let running = remaining.first
            let message = redactor.redact(describeRunError(error))
            if let running {
                let name = running.definition.name
                let duration = runningSince.duration(to: clock.now)
                // Best effort: the step is not recorded as done either way, so the next run runs it again; a journal
                // that cannot be written must not hide the step's own failure, which is reported below.
                try? journal.markFinished(
                    host: hostName,
                    step: name,
                    status: .failed,
                    message: message,
                    duration: duration
                )
                let record = StepRunRecord(
                    position: running.position,
                    step: name,
                    status: .failed,
                    message: message,
                    duration: duration
                )
                records.append(record)
                events(.stepFinished(host: hostName, record: record))
                failure = "Step \(name) failed: \(message)"
                for step in remaining.dropFirst() {
                    records.append(
                        StepRunRecord(
                            position: step.position,
                            step: step.definition.name,
                            status: .notRun,
                            message: "Not run: an earlier step failed."
                        )
                    )
                }
            } else {
                failure = message
            }
        }
        return HostRunRecord(
            host: hostName,
            instance: plan.instance.name,
            steps: records,
            checks: checks,
            failure: failure,
            duration: started.duration(to: clock.now)
        )
    }

    // MARK: - Steps

    /// What one step did.
    struct StepOutcomeValue {
        var status: StepRunStatus
        var message: String
        var facts: [String: String]
        var checks: [VerifyCheckResult]
    }

    /// Runs one step through its ``StepBehaviour``: what it does before (a refusal ends it there), its work (its
    /// script unless it says otherwise), and what it checks after work that did not fail.
    private func perform(
        _ step: ProvisioningPlan.PlannedStep,
        transport: any HostTransport,
        files: any HostFiles,
        facts: [String: [String: String]]
    ) async throws -> StepOutcomeValue {
        let behaviour = step.definition.behaviour
        let run = StepBehaviour.Run(provisioner: self, step: step, transport: transport, files: files, facts: facts)
        if let refusal = try await behaviour.before(run) { return refusal }
        let outcome = try await behaviour.work(run)
        guard outcome.status != .failed else { return outcome }
        return try await behaviour.after(run, outcome)
    }

    /// Uploads the step's script and T-SQL files to `work_dir`, runs the script with the step's secrets on stdin,
    /// and reads its result line.
    func runScript(
        _ step: ProvisioningPlan.PlannedStep,
        transport: any HostTransport,
        files: any HostFiles
    ) async throws -> StepOutcomeValue {
        guard let script = step.script else { throw RunnerError("The step \(step.definition.name) has no script.") }
        let sqlNames = Set(step.definition.sqlTemplates.map(StepDefinition.workFileName(ofSQL:)))
        try await files.write(
            [script] + plan.sqlFiles.filter { sqlNames.contains($0.outputName) },
            into: workDirectory,
            checksum: checksum
        )
        let remoteScript = workDirectory + "/" + script.outputName
        let command = StepCommand.command(
            running: remoteScript,
            on: plan.instance.platform,
            workDirectory: workDirectory
        )
        let printer = StepOutputLines(host: hostName, step: step.definition.name, redactor: redactor, events: events)
        // A long step says it is still at work, with its elapsed time.
        let ticker = Task { [heartbeat, events, hostName] in
            let clock = ContinuousClock()
            let started = clock.now
            while !Task.isCancelled {
                try await Task.sleep(for: heartbeat)
                let seconds = Int(started.duration(to: clock.now).components.seconds)
                events(
                    .output(
                        host: hostName,
                        step: step.definition.name,
                        line: "still running after \(seconds / 60)m\(String(format: "%02d", seconds % 60))s",
                        isError: false
                    )
                )
            }
        }
        defer { ticker.cancel() }
        let result = try await transport.run(
            command,
            stdin: secrets.standardInput(for: Self.hostSide(step.definition))
        ) { stream, chunk in
            printer.feed(stream == .stderr, chunk)
        }
        printer.finish()
        let stderrLines = result.stderr.split(whereSeparator: \.isNewline)
        guard result.succeeded else {
            let reason = stderrLines.last.map(String.init) ?? "the script ended with \(result.statusDescription)"
            return StepOutcomeValue(status: .failed, message: reason, facts: [:], checks: [])
        }
        guard let parsed = StepScriptResult.parse(output: result.stdout) else {
            return StepOutcomeValue(
                status: .failed,
                message: "The script exited 0 without its OCTOPROV-RESULT line; see its output above.",
                facts: [:],
                checks: []
            )
        }
        return StepOutcomeValue(
            status: parsed.changed ? .changed : .ok,
            message: parsed.message,
            facts: parsed.facts,
            checks: []
        )
    }

    /// The step with only the secrets a host may receive: the source's API key is octoprov's own.
    static func hostSide(_ definition: StepDefinition) -> StepDefinition {
        var definition = definition
        definition.secrets.removeAll { $0 == .sourceAPIKey }
        return definition
    }

    func uploadBackup(files: any HostFiles, step: String) async throws -> StepOutcomeValue {
        guard let backup = plan.instance.backup, let remote = plan.variables["backup_file"] else {
            throw RunnerError("The instance has no backup to upload.")
        }
        // 0600: the backup holds production's encrypted secrets and its password and API-key hashes.
        var options = transferOptions(step: step, label: "backup", totalBytes: DiskSpaceCheck.fileSize(backup))
        options.permissions = 0o600
        let result = try await files.upload(from: backup, to: remote, options: options)
        if result.skipped {
            return StepOutcomeValue(
                status: .ok,
                message: "The backup is already on the host (\(result.size) bytes, same checksum).",
                facts: ["backup_sha256": result.sha256 ?? ""],
                checks: []
            )
        }
        let resumed = result.resumedFromBytes > 0 ? ", resumed from \(result.resumedFromBytes) bytes" : ""
        return StepOutcomeValue(
            status: .changed,
            message: "Uploaded the backup (\(result.size) bytes\(resumed)) to \(remote).",
            facts: ["backup_sha256": result.sha256 ?? ""],
            checks: []
        )
    }

    func copyFolders(files transfer: any HostFiles, step: String) async throws -> StepOutcomeValue {
        var files = 0
        var sent = 0
        var bytes: UInt64 = 0
        var parts: [String] = []
        let folders = plan.instance.folders.sorted(by: { $0.key < $1.key })
        let options = transferOptions(
            step: step,
            label: "server folders",
            totalBytes: folders.reduce(0) { $0 + FolderManifest.size(of: $1.value) }
        )
        for (folder, local) in folders {
            guard let remote = plan.variables[folder.variableName] else { continue }
            let result = try await transfer.uploadTree(from: local, to: remote, options: options)
            files += result.files
            sent += result.files - result.unchangedFiles
            bytes += result.transferredBytes
            parts.append("\(folder.defaultFolderName) \(result.files - result.unchangedFiles)/\(result.files)")
        }
        if sent == 0 {
            return StepOutcomeValue(
                status: .ok,
                message: "The \(files) files of the server folders are already on the host.",
                facts: ["files": "\(files)"],
                checks: []
            )
        }
        return StepOutcomeValue(
            status: .changed,
            message: "Copied \(sent) of \(files) files (\(bytes) bytes): " + parts.joined(separator: ", ") + ".",
            facts: ["files": "\(files)", "sent_files": "\(sent)", "sent_bytes": "\(bytes)"],
            checks: []
        )
    }

    var checksum: RemoteChecksum? {
        plan.instance.platform == .windows ? nil : .posixSHA256Sum
    }

    /// Resumable, verified transfer options whose progress is reported for the whole step as `label`.
    func transferOptions(step: String, label: String, totalBytes: UInt64) -> TransferOptions {
        let host = hostName
        let events = events
        let tally = TransferTally(totalBytes: totalBytes)
        return TransferOptions(checksum: checksum) { progress in
            guard let done = tally.update(progress) else { return }
            events(.transfer(host: host, step: step, path: label, completedBytes: done, totalBytes: totalBytes))
        }
    }

    // MARK: - Input hashes and the host's marker

    /// The step's input: what it renders or sends, so that a new backup, version or setting reruns it.
    private func inputHash(of step: ProvisioningPlan.PlannedStep) throws -> InputHash {
        var parts: [String: String] = ["step": step.definition.name, "host": hostName]
        if let script = step.script {
            parts["script"] = script.contents
            for name in step.definition.sqlTemplates {
                let file = StepDefinition.workFileName(ofSQL: name)
                parts["sql:" + file] = plan.sqlFiles.first { $0.outputName == file }?.contents ?? ""
            }
        }
        parts.merge(step.definition.behaviour.inputs(step, plan)) { $1 }
        var stepSecrets: [String: String] = [:]
        for secret in step.definition.secrets {
            if let value = secrets.values[secret] { stepSecrets[secret.rawValue] = value }
        }
        return journal.inputHash(parts: parts, secrets: stepSecrets)
    }

    private func readMarker(_ files: any HostFiles) async throws -> [String: String] {
        // A marker that does not decode (cut short, edited) counts as none: every step runs again, which is safe.
        guard let data = try await files.read(workDirectory + "/" + markerName),
            let marker = try? JSONDecoder().decode([String: String].self, from: data)
        else { return [:] }
        return marker
    }

    private func writeMarker(_ marker: [String: String], files: any HostFiles) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await files.write(
            [
                ProvisioningPlan.RenderedFile(
                    template: "",
                    outputName: markerName,
                    contents: String(decoding: try encoder.encode(marker), as: UTF8.self)
                )
            ],
            into: workDirectory,
            checksum: checksum
        )
    }

    // MARK: - Messages

    private func stepFailure(_ step: String, _ error: any Error) -> String {
        if let error = error as? SSHError { return error.message }
        return String(describing: error)
    }

    private func describeRunError(_ error: any Error) -> String {
        if let error = error as? SSHError {
            switch error.code {
            case .disconnected, .timedOut:
                return "\(error.message) Rerun `octoprov provision` to resume from this step."
            default:
                return error.message
            }
        }
        return String(describing: error)
    }
}

/// A runner-side failure that is not the host's: one sentence.
public struct RunnerError: Error, Sendable, CustomStringConvertible {
    /// The sentence.
    public var description: String
    /// The error this one reports, when it wraps one (an `SSHError`, a `SecretError`, a file error): kept so that
    /// `--verbose`, the reports and the tests can still tell its code, never only its words.
    public var underlying: (any Error)?

    /// Creates the error.
    ///
    /// - Parameters:
    ///   - description: One sentence for the person.
    ///   - underlying: The error it reports, if it wraps one.
    public init(_ description: String, underlying: (any Error)? = nil) {
        self.description = description
        self.underlying = underlying
    }

    /// `host` has no API key of octoprov's yet: a command that reads its REST API (`verify`, `upgrade`, `drift`)
    /// needs `provision` to have run its admin step first.
    public static func noAPIKey(host: String) -> RunnerError {
        RunnerError(
            "No API key was created on \(host) yet (the admin step makes one); run `octoprov provision` for it first."
        )
    }
}
