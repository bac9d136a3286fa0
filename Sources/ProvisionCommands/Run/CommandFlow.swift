import ArgumentParser
import Foundation
import Logging
import Provisioning
import SSHKit

/// `provision`, `verify`, `upgrade` and `rebuild` as options → a ``PlanRun`` → its outcome → the exit status. The run
/// itself (journals, upgrade guard, API key, hosts in parallel) is ``PlanRun`` in Provisioning.
enum CommandFlow {
    /// `provision` and `verify`: prepares the run, runs every host, writes the reports, prints the recap, and throws
    /// the exit status (also on success, as `ExitCode.success`).
    static func perform(
        selection: PlanOptions,
        options: RunOptions,
        fromStep: StepName? = nil,
        onlyStep: StepName? = nil,
        flow: ProvisioningPlan.Flow = .provision
    ) async throws {
        let run = try prepare(
            selection: selection,
            stateDirectory: options.stateDirectory,
            flow: flow,
            onlyStep: onlyStep
        )
        let outcome = await execute(
            run,
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
    /// `upgrade` and `verify` (`onlyStep` ``StepName/verify``) act on each clone as it is: a clone restored from another backup
    /// than the one the inventory's `backup:` names now (a nightly backup arrived since) is checked against the
    /// backup it was restored from (``Journal/restoredBackup(host:)``), with a note that `rebuild` makes it
    /// again from the new one.
    static func prepare(
        selection: PlanOptions,
        stateDirectory: String?,
        flow: ProvisioningPlan.Flow = .provision,
        onlyStep: StepName? = nil
    ) throws -> PlanRun {
        let environment = ProcessInfo.processInfo.environment
        let checked = try selection.checkInventory(environment: environment)
        let redactor = checked.check.redactor
        var run: PlanRun
        do {
            run = try PlanRun.open(
                plan: try selection.render(checked, flow: flow),
                stateDirectory: stateDirectory,
                redactor: redactor,
                environment: environment,
                flow: flow
            ) { Console.shared.err($0) }
        } catch let error as JournalError {
            throw exit(error, redactor: redactor)
        }
        var actsOnTheCloneAsItIs = onlyStep == .verify
        if case .upgrade = flow { actsOnTheCloneAsItIs = true }
        if actsOnTheCloneAsItIs {
            do {
                try checkClonesAgainstTheirOwnBackups(&run, selection: selection, checked: checked)
            } catch {
                run.closeJournals()
                throw error
            }
        }
        return run
    }

    /// Renders the plan again so that each clone restored from another backup than the one the inventory names now
    /// is checked against its own (``Journal/restoredBackup(host:)``), and says so for each such host.
    private static func checkClonesAgainstTheirOwnBackups(
        _ run: inout PlanRun,
        selection: PlanOptions,
        checked: PlanOptions.Checked
    ) throws {
        var restored: [String: String] = [:]
        for host in run.plan.hosts {
            guard let journal = run.journals[host.instance.name],
                let sha256 = journal.restoredBackup(host: host.host.name),
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
            run.plan = try selection.render(checked, flow: run.flow, restoredBackups: restored)
        }
    }

    /// Runs `run` over SSH with live progress on the console.
    static func execute(
        _ run: PlanRun,
        parallel: Int,
        fromStep: StepName?,
        onlyStep: StepName? = nil,
        verbose: Bool,
        quiet: Bool
    ) async -> PlanRunOutcome {
        let printer = ProgressPrinter(quiet: quiet)
        return await run.run(
            .overSSH(
                parallel: parallel,
                fromStep: fromStep,
                onlyStep: onlyStep,
                verbose: verbose,
                environment: run.environment
            ) { printer.handle($0, redactor: $1) }
        )
    }

    /// `rebuild`: marks every recorded step of `hosts` to run again (``PlanRun``'s `clearJournals`); on failure
    /// prints the one sentence and throws the exit code: 75 when another run holds a journal, else 1.
    static func clearJournals(
        of hosts: [ProvisioningPlan.HostPlan],
        inventory: String,
        stateDirectory: String?,
        redactor: Redactor,
        open: [String: Journal] = [:]
    ) throws {
        do {
            try PlanRun.clearJournals(
                of: hosts,
                inventory: inventory,
                stateDirectory: stateDirectory,
                redactor: redactor,
                environment: ProcessInfo.processInfo.environment,
                open: open
            )
        } catch {
            throw exit(error, redactor: redactor)
        }
    }

    /// Opens (locks) the journal of `instance` (or of a flow's key, ``PlanRun/journalKey(_:flow:)``); on failure
    /// prints the one sentence and throws the exit code: 75 when another run holds it, else 1.
    static func openJournal(
        inventory: String,
        instance: String,
        stateDirectory: String?,
        redactor: Redactor
    ) throws -> Journal {
        do {
            return try Journal.open(
                inventory: inventory,
                instance: instance,
                stateDirectory: stateDirectory,
                redactor: redactor,
                environment: ProcessInfo.processInfo.environment
            )
        } catch {
            throw exit(error, redactor: redactor)
        }
    }

    /// Prints why a journal could not be opened and gives the exit code: 75 when another run holds it, else 1.
    private static func exit(_ error: JournalError, redactor: Redactor) -> ExitCode {
        Console.shared.err(redactor.redact(error.description))
        if case .locked = error { return ExitCode(75) }
        return ExitCode(1)
    }

    /// The SSH layer's logger for every command: warnings on stderr, debug detail with `--verbose`.
    static func logger(verbose: Bool) -> Logger {
        HostRun.logger(verbose: verbose)
    }
}
