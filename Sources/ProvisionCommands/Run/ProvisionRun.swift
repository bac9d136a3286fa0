import ArgumentParser
import Foundation
import Logging
import Provisioning
import SSHKit

/// A `provision` (or `verify`) run: the checked inventory, the plan, a journal per instance, and the hosts run
/// in parallel. Shared by ``ProvisionCommand`` and ``VerifyCommand``.
struct ProvisionRun {
    var plan: ProvisioningPlan
    var redactor: Redactor
    /// Each instance's provisioning journal: its lock, its secrets (the API key), its quarantine.
    var journals: [String: Journal]
    /// Each instance's journal of the run's flow when it is not provisioning (`<instance>@upgrade`), kept apart so
    /// that an upgrade's `install` never stands for provisioning's.
    var flowJournals: [String: Journal] = [:]
    /// `provision` and `verify`: each instance's upgrade journal, when an `upgrade` ran on it.
    var upgradeJournals: [String: Journal] = [:]
    var environment: [String: String]
    var flow: ProvisioningPlan.Flow = .provision

    /// `provision` and `verify`: prepares the run, runs every host, writes the reports, prints the recap, and throws
    /// the exit status (also on success, as `ExitCode.success`).
    static func perform(
        selection: PlanOptions,
        options: RunOptions,
        fromStep: String? = nil,
        onlyStep: String? = nil,
        flow: ProvisioningPlan.Flow = .provision
    ) async throws {
        let run = try prepare(
            selection: selection,
            stateDirectory: options.stateDirectory,
            flow: flow,
            onlyStep: onlyStep
        )
        let outcome = await run.execute(
            parallel: options.parallel,
            fromStep: fromStep,
            onlyStep: onlyStep,
            verbose: options.verbose,
            quiet: options.quiet
        )
        try outcome.writeReports(json: options.reportJSON, junit: options.junit)
        outcome.printRecap()
        throw outcome.exitCode
    }

    /// Checks the inventory, renders the plan and opens (locks) each instance's journal; prints every problem and
    /// throws the exit code on bad input (64) or a held journal (75).
    ///
    /// `upgrade` and `verify` (`onlyStep` "verify") act on each clone as it is: a clone restored from another backup
    /// than the one the inventory's `backup:` names now (a nightly backup arrived since) is checked against the
    /// backup it was restored from (``CloneState/restoredBackup(in:host:)``), with a note that `rebuild` makes it
    /// again from the new one.
    static func prepare(
        selection: PlanOptions,
        stateDirectory: String?,
        flow: ProvisioningPlan.Flow = .provision,
        onlyStep: String? = nil
    ) throws -> ProvisionRun {
        let environment = ProcessInfo.processInfo.environment
        let checked = try selection.checkInventory(environment: environment)
        let check = checked.check
        let redactor = check.redactor
        var run = ProvisionRun(
            plan: try selection.render(checked, flow: flow),
            redactor: redactor,
            journals: [:],
            environment: environment,
            flow: flow
        )
        let directory = stateDirectory ?? JournalLocation.defaultStateDirectory(environment: environment)
        for name in Set(run.plan.hosts.map(\.instance.name)).sorted() {
            var keys = [name] + (flow == .provision ? [] : [journalKey(name, flow: flow.name)])
            // Provisioning reads an earlier upgrade's journal, when there is one: an upgraded host is not provisioned.
            let upgradeKey = journalKey(name, flow: ProvisioningPlan.Flow.upgradeName)
            let upgradeJournal = JournalLocation.journalPath(
                stateDirectory: directory,
                inventoryPath: JournalLocation.canonicalInventoryPath(check.file),
                instance: upgradeKey
            )
            if flow == .provision, FileManager.default.fileExists(atPath: upgradeJournal) { keys.append(upgradeKey) }
            for key in keys {
                let journal: Journal
                do {
                    journal = try openJournal(
                        inventory: check.file,
                        instance: key,
                        stateDirectory: stateDirectory,
                        redactor: redactor,
                        environment: environment
                    )
                } catch {
                    run.closeJournals()
                    throw error
                }
                for warning in journal.warnings { Console.shared.err(redactor.redact(warning)) }
                if key == name {
                    run.journals[name] = journal
                } else if flow == .provision {
                    run.upgradeJournals[name] = journal
                } else {
                    run.flowJournals[name] = journal
                }
            }
        }
        var actsOnTheCloneAsItIs = onlyStep == "verify"
        if case .upgrade = flow { actsOnTheCloneAsItIs = true }
        if actsOnTheCloneAsItIs {
            do {
                try run.checkClonesAgainstTheirOwnBackups(selection: selection, checked: checked)
            } catch {
                run.closeJournals()
                throw error
            }
        }
        return run
    }

    /// Renders the plan again so that each clone restored from another backup than the one the inventory names now
    /// is checked against its own (``CloneState/restoredBackup(in:host:)``), and says so for each such host.
    private mutating func checkClonesAgainstTheirOwnBackups(
        selection: PlanOptions,
        checked: PlanOptions.Checked
    ) throws {
        var restored: [String: String] = [:]
        for host in plan.hosts {
            guard let journal = journals[host.instance.name],
                let sha256 = CloneState.restoredBackup(in: journal, host: host.host.name),
                sha256 != host.variables["backup_sha256"]
            else { continue }
            restored["\(host.instance.name)/\(host.host.name)"] = sha256
            Console.shared.err(
                "Instance \(host.instance.name) on \(host.host.name): the clone was restored from another backup "
                    + "(SHA-256 \(sha256.prefix(12))…) than the one the inventory names now; octoprov checks it "
                    + "against the backup it was made from. `octoprov rebuild` makes it again from the new one."
            )
        }
        if !restored.isEmpty {
            plan = try selection.render(checked, flow: flow, restoredBackups: restored)
        }
    }

    /// Marks every recorded step of `hosts` to run again in the instances' provisioning and upgrade journals, as
    /// after `rebuild`'s teardown: the next `provision` redoes everything on a host whose instance is gone.
    static func clearJournals(
        of hosts: [ProvisioningPlan.HostPlan],
        inventory: String,
        stateDirectory: String?,
        redactor: Redactor
    ) throws {
        for instance in Set(hosts.map(\.instance.name)).sorted() {
            for key in [instance, journalKey(instance, flow: ProvisioningPlan.Flow.upgradeName)] {
                let journal = try openJournal(
                    inventory: inventory,
                    instance: key,
                    stateDirectory: stateDirectory,
                    redactor: redactor
                )
                defer { journal.close() }
                for host in hosts where host.instance.name == instance {
                    do {
                        try journal.resetAll(host: host.host.name)
                    } catch {
                        Console.shared.err(redactor.redact(error.description))
                        throw ExitCode(1)
                    }
                }
            }
        }
    }

    /// Opens (locks) the journal of `instance` (or of a flow's key, ``journalKey(_:flow:)``); on failure prints the
    /// one sentence and throws the exit code: 75 when another run holds it, else 1.
    static func openJournal(
        inventory: String,
        instance: String,
        stateDirectory: String?,
        redactor: Redactor,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Journal {
        do {
            return try Journal.open(
                inventory: inventory,
                instance: instance,
                stateDirectory: stateDirectory,
                redactor: redactor,
                environment: environment
            )
        } catch {
            Console.shared.err(redactor.redact(error.description))
            if case .locked = error { throw ExitCode(75) }
            throw ExitCode(1)
        }
    }

    /// The journal of `instance`'s flow other than provisioning (`staging-clone@upgrade`). `@` is not allowed in
    /// instance names, so it never collides with an instance's own journal.
    static func journalKey(_ instance: String, flow: String) -> String { "\(instance)@\(flow)" }

    /// Closes every journal the run opened.
    func closeJournals() {
        for journal in Array(journals.values) + Array(flowJournals.values) + Array(upgradeJournals.values) {
            journal.close()
        }
    }

    /// Runs every host plan (at most `parallel` hosts at once) and closes the journals.
    func execute(
        parallel: Int,
        fromStep: String?,
        onlyStep: String? = nil,
        verbose: Bool,
        quiet: Bool
    ) async -> ProvisionOutcome {
        defer { closeJournals() }
        let logger = Self.logger(verbose: verbose)
        let environment = environment
        let redactor = redactor
        let journals = journals
        let flowJournals = flowJournals
        let upgradeJournals = upgradeJournals
        let flowName = flow.name
        let printer = ProgressPrinter(quiet: quiet)
        let verifier = RESTVerifier.make(logger: logger, environment: environment)
        let hostPlans = plan.hosts
        // Each local package's SHA-256, once per run, for the preflight's comparison with the inventory's.
        var packageDigests: [String: String] = [:]
        for path in Set(hostPlans.compactMap { $0.instance.package?.localFile }) {
            packageDigests[path] = try? FileDigest.sha256(path: path)
        }
        let digests = packageDigests
        let clock = ContinuousClock()
        let started = clock.now
        let startedAt = Date()
        let hostName: @Sendable (ProvisioningPlan.HostPlan) -> String = { "\($0.instance.name)/\($0.host.name)" }
        let outcomes = await forEachHost(hostPlans, name: hostName, parallel: parallel) { hostPlan in
            guard let journal = journals[hostPlan.instance.name] else {
                throw RunnerError("No journal is open for instance \(hostPlan.instance.name).")
            }
            if let upgraded = UpgradeState.currentVersion(
                in: upgradeJournals[hostPlan.instance.name],
                host: hostPlan.host.name
            ),
                upgraded != hostPlan.instance.version.description
            {
                throw RunnerError(
                    "Nothing was changed: `octoprov upgrade` took this host to Octopus \(upgraded), not the inventory's "
                        + "\(hostPlan.instance.version); run `octoprov upgrade --to \(upgraded)` to verify it there, or "
                        + "`octoprov rebuild` to make it a copy at \(hostPlan.instance.version) again."
                )
            }
            let secrets: StepSecretValues
            do {
                var apiKey: String?
                if hostPlan.instance.admin != nil {
                    let host = hostPlan.host.name
                    let name = StepSecret.adminAPIKey.rawValue
                    apiKey = journal.storedSecret(named: name, host: host)
                    if apiKey == nil, onlyStep == "verify" || flowName == ProvisioningPlan.Flow.upgradeName {
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
                throw RunnerError("Nothing was changed on the host: \(error)")
            }
            let hostRedactor = redactor.merging(secrets.redactor)
            var provisioner = HostProvisioner(
                plan: hostPlan,
                secrets: secrets,
                redactor: hostRedactor,
                journal: flowJournals[hostPlan.instance.name] ?? journal,
                fromStep: fromStep,
                onlyStep: onlyStep,
                localPackageSHA256: hostPlan.instance.package?.localFile.flatMap { digests[$0] },
                verifier: verifier,
                projectImporter: ProjectImport.make(logger: logger, environment: environment),
                events: { printer.handle($0, redactor: hostRedactor) }
            )
            if flowJournals[hostPlan.instance.name] != nil {
                provisioner.provisionJournal = journal
                provisioner.flowName = flowName
            }
            // The Migrator route's source host, with the same logging as every other connection.
            provisioner.sourceConnection = { $0.sshConfiguration(logger: logger, environment: environment) }
            let configured = provisioner
            return try await withHostSession(hostPlan.host, logger: logger, environment: environment) { session in
                await configured.run(session: session)
            }
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
                    reason = "Cannot reach the host: \(describe(error.error, verbose: verbose))"
                } else {
                    reason = describe(error, verbose: verbose)
                }
                let message = redactor.redact(reason)
                printer.handle(
                    .output(host: hostPlan.host.name, step: "connect", line: message, isError: true),
                    redactor: redactor
                )
                hosts.append(
                    HostRunRecord(
                        host: hostPlan.host.name,
                        instance: hostPlan.instance.name,
                        steps: hostPlan.steps.filter { onlyStep == nil || $0.definition.name == onlyStep }.map {
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
        return ProvisionOutcome(
            inventory: plan.file,
            instances: plan.instances,
            started: startedAt,
            hosts: hosts,
            unreachable: unreachable,
            duration: started.duration(to: clock.now),
            redactor: redactor
        )
    }

    /// The SSH layer's logger for every command: warnings on stderr, debug detail with `--verbose`.
    static func logger(verbose: Bool) -> Logger {
        HostProvisioner.logger(verbose: verbose)
    }
}
