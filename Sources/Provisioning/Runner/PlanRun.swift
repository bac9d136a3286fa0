public import Foundation
import SSHKit

/// One run of a plan's flow (`provision`, `verify`, `upgrade`, `teardown`) over its hosts: the plan, the journals it
/// holds locked, and the decisions taken before a host is touched (the upgrade guard, the API key). Each host runs
/// in a ``HostRun`` over a ``HostTransport``; a host's failure is recorded in the outcome, never thrown
/// across hosts.
public struct PlanRun: Sendable {
    /// The plan to run.
    public var plan: ProvisioningPlan
    /// Hides every secret in what is printed or recorded.
    public var redactor: Redactor
    /// Each instance's provisioning journal: its lock, its secrets (the API key), its quarantine.
    public var journals: [String: Journal] = [:]
    /// Each instance's journal of the run's flow when it is not provisioning (`<instance>@upgrade`), kept apart so
    /// that an upgrade's `install` never stands for provisioning's.
    public var flowJournals: [String: Journal] = [:]
    /// `provision` and `verify`: each instance's upgrade journal, when an `upgrade` ran on it.
    public var upgradeJournals: [String: Journal] = [:]
    /// The environment secrets are read from.
    public var environment: [String: String]
    /// The flow the plan runs.
    public var flow: ProvisioningPlan.Flow

    /// Opens (locks) the journals the run needs: each instance's own; for a flow other than provisioning, that
    /// flow's (``journalKey(_:flow:)``); for provisioning, the upgrade journal when an upgrade wrote one. On a
    /// failure the journals already opened are closed.
    ///
    /// - Parameters:
    ///   - plan: The plan.
    ///   - stateDirectory: `--state-dir`, or `nil` for the default.
    ///   - redactor: The inventory's redactor.
    ///   - environment: The process environment.
    ///   - flow: The flow the plan runs.
    ///   - warning: Called with each journal warning (a corrupt journal moved aside), redacted.
    /// - Returns: The run.
    /// - Throws: The ``JournalError`` of the journal that could not be opened (`.locked` when another run holds it).
    public static func open(
        plan: ProvisioningPlan,
        stateDirectory: String?,
        redactor: Redactor,
        environment: [String: String],
        flow: ProvisioningPlan.Flow = .provision,
        warning: (String) -> Void
    ) throws(JournalError) -> PlanRun {
        var run = PlanRun(plan: plan, redactor: redactor, environment: environment, flow: flow)
        let directory = stateDirectory ?? JournalLocation.defaultStateDirectory(environment: environment)
        for name in Set(plan.hosts.map(\.instance.name)).sorted() {
            var keys = [name] + (flow == .provision ? [] : [journalKey(name, flow: flow.name)])
            // Provisioning reads an earlier upgrade's journal, when there is one: an upgraded host is not provisioned.
            let upgradeKey = journalKey(name, flow: ProvisioningPlan.Flow.upgradeName)
            let upgradeJournal = JournalLocation.journalPath(
                stateDirectory: directory,
                inventoryPath: JournalLocation.canonicalInventoryPath(plan.file),
                instance: upgradeKey
            )
            if flow == .provision, FileManager.default.fileExists(atPath: upgradeJournal) { keys.append(upgradeKey) }
            for key in keys {
                let journal: Journal
                do {
                    journal = try Journal.open(
                        inventory: plan.file,
                        instance: key,
                        stateDirectory: stateDirectory,
                        redactor: redactor,
                        environment: environment
                    )
                } catch {
                    run.closeJournals()
                    throw error
                }
                for text in journal.warnings { warning(redactor.redact(text)) }
                if key == name {
                    run.journals[name] = journal
                } else if flow == .provision {
                    run.upgradeJournals[name] = journal
                } else {
                    run.flowJournals[name] = journal
                }
            }
        }
        return run
    }

    /// Marks every recorded step of `hosts` to run again in the instances' provisioning and upgrade journals, as
    /// after `rebuild`'s teardown: the next `provision` redoes everything on a host whose instance is gone.
    ///
    /// - Parameters:
    ///   - hosts: The host plans whose records are cleared.
    ///   - inventory: The inventory file.
    ///   - stateDirectory: `--state-dir`, or `nil` for the default.
    ///   - redactor: The inventory's redactor.
    ///   - environment: The process environment.
    ///   - open: Journals this process already holds, by key (a run's ``journals``): cleared through them rather
    ///     than opened a second time, which their lock would refuse.
    /// - Throws: The ``JournalError`` of a journal that could not be opened (`.locked` when another run holds it)
    ///   or changed.
    public static func clearJournals(
        of hosts: [ProvisioningPlan.HostPlan],
        inventory: String,
        stateDirectory: String?,
        redactor: Redactor,
        environment: [String: String],
        open: [String: Journal] = [:]
    ) throws(JournalError) {
        for instance in Set(hosts.map(\.instance.name)).sorted() {
            for key in [instance, journalKey(instance, flow: ProvisioningPlan.Flow.upgradeName)] {
                let journal: Journal
                if let held = open[key] {
                    journal = held
                } else {
                    journal = try Journal.open(
                        inventory: inventory,
                        instance: key,
                        stateDirectory: stateDirectory,
                        redactor: redactor,
                        environment: environment
                    )
                }
                defer { if open[key] == nil { journal.close() } }
                for host in hosts where host.instance.name == instance {
                    try journal.resetAll(host: host.host.name)
                }
            }
        }
    }

    /// The journal of `instance`'s flow other than provisioning (`staging-clone@upgrade`). `@` is not allowed in
    /// instance names, so it never collides with an instance's own journal.
    public static func journalKey(_ instance: String, flow: String) -> String { "\(instance)@\(flow)" }

    /// Closes every journal the run opened.
    public func closeJournals() {
        for journal in Array(journals.values) + Array(flowJournals.values) + Array(upgradeJournals.values) {
            journal.close()
        }
    }

    /// What the hosts are reached with and told to do, besides the plan.
    public struct Settings: Sendable {
        /// How many hosts run at once.
        public var parallel: Int
        /// `--from-step`.
        public var fromStep: StepName?
        /// Run only this step (`verify`).
        public var onlyStep: StepName?
        /// `--verbose`: errors as their detailed tree.
        public var verbose: Bool
        /// How hosts (and a Migrator route's source host) are reached.
        public var connector: any HostConnector
        /// The `verify` step's REST checks.
        public var verifier: HostRun.Verifier?
        /// The test-instance flow's project import.
        public var projectImporter: ProjectImport.Importer?
        /// Where progress goes, with the redactor of the host it comes from.
        public var events: @Sendable (ProvisionEvent, Redactor) -> Void

        /// Creates the settings.
        public init(
            parallel: Int,
            fromStep: StepName? = nil,
            onlyStep: StepName? = nil,
            verbose: Bool = false,
            connector: any HostConnector,
            verifier: HostRun.Verifier? = nil,
            projectImporter: ProjectImport.Importer? = nil,
            events: @escaping @Sendable (ProvisionEvent, Redactor) -> Void
        ) {
            self.parallel = parallel
            self.fromStep = fromStep
            self.onlyStep = onlyStep
            self.verbose = verbose
            self.connector = connector
            self.verifier = verifier
            self.projectImporter = projectImporter
            self.events = events
        }

        /// The settings of a run over SSH: hosts reached with their inventory settings, `verify` over a port forward,
        /// the project import over the source's and the instance's REST APIs.
        ///
        /// - Parameters:
        ///   - parallel: How many hosts run at once.
        ///   - fromStep: `--from-step`.
        ///   - onlyStep: Run only this step.
        ///   - verbose: `--verbose`.
        ///   - environment: The environment SSH secrets are read from.
        ///   - events: Where progress goes.
        /// - Returns: The settings.
        public static func overSSH(
            parallel: Int,
            fromStep: StepName?,
            onlyStep: StepName?,
            verbose: Bool,
            environment: [String: String],
            events: @escaping @Sendable (ProvisionEvent, Redactor) -> Void
        ) -> Settings {
            let logger = HostRun.logger(verbose: verbose)
            return Settings(
                parallel: parallel,
                fromStep: fromStep,
                onlyStep: onlyStep,
                verbose: verbose,
                connector: SSHConnector(logger: logger, environment: environment),
                verifier: RESTVerifier.make(logger: logger, environment: environment),
                projectImporter: ProjectImport.make(logger: logger, environment: environment),
                events: events
            )
        }
    }

    /// Runs every host plan (at most `settings.parallel` hosts at once) and closes the journals.
    ///
    /// - Parameter settings: How hosts are reached and what they run.
    /// - Returns: What happened on every host.
    public func run(_ settings: Settings) async -> PlanRunOutcome {
        defer { closeJournals() }
        let hostPlans = plan.hosts
        // Each local package's SHA-256, once per run, for the preflight's comparison with the inventory's.
        var packageDigests: [String: Result<String, any Error>] = [:]
        for path in Set(hostPlans.compactMap { $0.instance.package?.localFile }) {
            packageDigests[path] = Result { try FileDigest.sha256(path: path) }
        }
        let digests = packageDigests
        let clock = ContinuousClock()
        let started = clock.now
        let startedAt = Date()
        let hostName: @Sendable (ProvisioningPlan.HostPlan) -> String = { "\($0.instance.name)/\($0.host.name)" }
        let outcomes = await forEachHost(hostPlans, name: hostName, parallel: settings.parallel) { hostPlan in
            let provisioner = try provisioner(for: hostPlan, settings: settings, packageDigests: digests)
            let transport: any HostTransport
            do {
                transport = try await settings.connector.connect(to: hostPlan.host)
            } catch {
                throw Unreachable(error: error)
            }
            let record = await provisioner.run(transport: transport)
            await transport.close()
            return record
        }
        var hosts: [HostRunRecord] = []
        var unreachable: Set<String> = []
        for (index, outcome) in outcomes.enumerated() {
            let hostPlan = hostPlans[index]
            switch outcome.result {
            case .success(let record):
                hosts.append(record)
            case .failure(let error):
                let isUnreachable = error is Unreachable
                if isUnreachable { unreachable.insert(hostPlan.host.name) }
                let reason: String
                if let error = error as? Unreachable {
                    reason = "Cannot reach the host: \(describe(error.error, verbose: settings.verbose))"
                } else {
                    reason = describe(error, verbose: settings.verbose)
                }
                let message = redactor.redact(reason)
                settings.events(
                    .output(host: hostPlan.host.name, step: "connect", line: message, isError: true),
                    redactor
                )
                hosts.append(
                    HostRunRecord(
                        host: hostPlan.host.name,
                        instance: hostPlan.instance.name,
                        steps: hostPlan.steps.filter {
                            settings.onlyStep == nil || $0.definition.stepName == settings.onlyStep
                        }.map {
                            StepRunRecord(
                                position: $0.position,
                                step: $0.definition.name,
                                status: .notRun,
                                message: "Not run: \(message)"
                            )
                        },
                        checks: [],
                        failure: message,
                        duration: outcome.duration
                    )
                )
            }
        }
        return PlanRunOutcome(
            inventory: plan.file,
            instances: plan.instances,
            started: startedAt,
            hosts: hosts,
            unreachable: unreachable,
            duration: started.duration(to: clock.now),
            redactor: redactor
        )
    }

    /// The host's provisioner, after the decisions taken before anything is changed on it: a host an `upgrade`
    /// took past the inventory's version is refused, and its API key is read from the journal (or made and stored
    /// there, when the flow may make one).
    private func provisioner(
        for hostPlan: ProvisioningPlan.HostPlan,
        settings: Settings,
        packageDigests: [String: Result<String, any Error>]
    ) throws -> HostRun {
        guard let journal = journals[hostPlan.instance.name] else {
            throw RunnerError("No journal is open for instance \(hostPlan.instance.name).")
        }
        if let upgraded = upgradeJournals[hostPlan.instance.name]?.upgradedVersion(host: hostPlan.host.name),
            upgraded != hostPlan.instance.version.description
        {
            throw RunnerError(
                "Nothing was changed: `octoprov upgrade` took this host to Octopus \(upgraded), not the inventory's "
                    + "\(hostPlan.instance.version); run `octoprov upgrade --to \(upgraded)` to verify it there, or "
                    + "`octoprov rebuild` to make it a copy at \(hostPlan.instance.version) again."
            )
        }
        if let target = upgradeJournals[hostPlan.instance.name]?.interruptedUpgradeTarget(host: hostPlan.host.name) {
            // The provisioning journal says every step is done, but the host is drained mid-upgrade: say so rather
            // than skip to a verify that can only time out.
            throw RunnerError(
                "Nothing was changed: an `octoprov upgrade` to \(target) stopped on this host after draining its node, "
                    + "so its service is stopped and it is not what provisioning left; run `octoprov upgrade --to "
                    + "\(target)` to finish it, or `octoprov rebuild` to make the clone again."
            )
        }
        let secrets: StepSecretValues
        do {
            var apiKey: String?
            if hostPlan.instance.admin != nil {
                let host = hostPlan.host.name
                let name = StepSecret.adminAPIKey.rawValue
                apiKey = journal.storedSecret(named: name, host: host)
                if apiKey == nil, settings.onlyStep == .verify || flow.name == ProvisioningPlan.Flow.upgradeName {
                    throw RunnerError.noAPIKey(host: host)
                }
                if apiKey == nil {
                    let generated = OctopusAPIKey.generate()
                    try journal.storeSecret(generated, named: name, host: host)
                    apiKey = generated
                }
            }
            secrets = try StepSecretValues.read(for: hostPlan, environment: environment, adminAPIKey: apiKey)
        } catch let error as RunnerError {
            throw error
        } catch {
            throw RunnerError("Nothing was changed on the host: \(error)", underlying: error)
        }
        var localPackageSHA256: String?
        if let local = hostPlan.instance.package?.localFile, let digest = packageDigests[local] {
            switch digest {
            case .success(let sha256): localPackageSHA256 = sha256
            case .failure(let error):
                throw RunnerError(
                    "Nothing was changed: the package file \(local) cannot be read (\(error)).",
                    underlying: error
                )
            }
        }
        let hostRedactor = redactor.merging(secrets.redactor)
        let events = settings.events
        var provisioner = HostRun(
            plan: hostPlan,
            secrets: secrets,
            redactor: hostRedactor,
            journal: flowJournals[hostPlan.instance.name] ?? journal,
            fromStep: settings.fromStep,
            onlyStep: settings.onlyStep,
            localPackageSHA256: localPackageSHA256,
            verifier: settings.verifier,
            projectImporter: settings.projectImporter,
            connector: settings.connector,
            events: { events($0, hostRedactor) }
        )
        if flowJournals[hostPlan.instance.name] != nil {
            provisioner.provisionJournal = journal
            provisioner.flowName = flow.name
        }
        return provisioner
    }
}

/// What a run did on every host: what the recap, the reports and the exit status are made of.
public struct PlanRunOutcome: Sendable {
    /// The inventory file as named to octoprov.
    public var inventory: String
    /// The instances run, in plan order.
    public var instances: [InstanceSpec]
    /// When the run started.
    public var started: Date
    /// Each host's record, in plan order.
    public var hosts: [HostRunRecord]
    /// The hosts that could not be reached.
    public var unreachable: Set<String>
    /// How long the run took.
    public var duration: Duration
    /// Hides the inventory's secrets.
    public var redactor: Redactor

    /// How a run ended as a whole.
    public enum Status: Sendable, Hashable {
        /// Every host succeeded.
        case succeeded
        /// Some host failed.
        case failed
        /// Some host could not be reached.
        case unreachable
    }

    /// `.unreachable` when some host could not be reached, else `.failed` when some host failed, else `.succeeded`.
    public var status: Status {
        if !unreachable.isEmpty { return .unreachable }
        if hosts.contains(where: { !$0.succeeded }) { return .failed }
        return .succeeded
    }

    /// The report of this run, per instance and host (docs/journal.md, "Reports").
    public var report: ProvisionReport {
        ProvisionReport(
            started: started,
            duration: duration,
            instances: instances.map { spec in
                InstanceReport(
                    name: spec.name,
                    mode: spec.mode,
                    version: spec.version.description,
                    hosts: hosts.filter { $0.instance == spec.name }.map { host in
                        HostReport(
                            name: host.host,
                            duration: host.duration,
                            steps: host.steps.map { step in
                                StepReport(
                                    position: step.position,
                                    name: step.step,
                                    status: Self.reportStatus(step.status),
                                    duration: step.duration,
                                    message: step.message
                                )
                            },
                            checks: host.checks.map {
                                VerifyCheckReport(name: $0.name, passed: $0.passed, message: $0.message)
                            },
                            // A failed step is its own test case; `error` is for a host that failed outside any step
                            // (unreachable, secrets unreadable).
                            error: host.steps.contains { $0.status == .failed } ? nil : host.failure
                        )
                    }
                )
            }
        )
    }

    private static func reportStatus(_ status: StepRunStatus) -> StepReportStatus {
        switch status {
        case .ok: .ok
        case .changed: .changed
        case .failed: .failed
        case .notRun: .skipped
        }
    }
}

/// Marks an error raised before the host was reached (connection, host key, authentication).
public struct Unreachable: Error {
    /// Why the host could not be reached.
    public var error: any Error

    /// Wraps `error`.
    public init(error: any Error) {
        self.error = error
    }
}

/// One line for an error, or its detailed tree with `--verbose`.
///
/// - Parameters:
///   - error: The error.
///   - verbose: `--verbose`.
/// - Returns: The text.
public func describe(_ error: any Error, verbose: Bool) -> String {
    if let error = error as? SSHError {
        return verbose ? error.detailedDescription() : error.message
    }
    return String(describing: error)
}
