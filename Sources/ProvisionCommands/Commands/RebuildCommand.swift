import ArgumentParser
import Foundation
import Provisioning
import SSHKit

/// `octoprov rebuild`: tear the instances down on their hosts and provision them again, the nightly job's command.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Tear the instances down on their hosts and provision them again from the newest backup.",
        discussion: """
            First the teardown step on every selected host (docs/steps.md, "Upgrade and teardown flows"): the \
            service stopped and uninstalled, the database dropped, the instance deleted and its configuration \
            removed. The installed packages, the work folder (with the uploaded backup) and the server folders \
            are kept, so the copy that follows only sends what changed (--no-keep-folders removes the server \
            folders too). Then the journals of those hosts are cleared (provision's and upgrade's) and the \
            instances are provisioned again: a clone's `backup:` pattern (`backups/OctopusDeploy-*.bak`) takes the \
            newest backup, which is restored and quarantined before the service first starts, and verified.

            When a teardown fails, nothing is provisioned and the exit status is 1; run rebuild again once the \
            cause is fixed.

            Exit status: as for provision (0, 1, 2, 64, 75).

            Examples:
              octoprov rebuild -i nightly.yml --instance staging-clone --junit rebuild.xml
              octoprov sandbox backup && octoprov rebuild -i ~/.local/state/octoprov/sandbox/inventory.yml
            """
    )

    @OptionGroup var selection: PlanOptions

    @OptionGroup var runOptions: RunOptions

    @Flag(
        inversion: .prefixedNo,
        help: "Keep the server folders on the hosts for a delta copy (default), or remove them."
    )
    var keepFolders = true

    func run() async throws {
        let teardown = try CommandFlow.prepare(
            selection: selection,
            stateDirectory: runOptions.stateDirectory,
            flow: .teardown
        )
        // Teardown always runs: its journal is only there to report what it did.
        for hostPlan in teardown.plan.hosts {
            try? teardown.flowJournals[hostPlan.instance.name]?.resetAll(host: hostPlan.host.name)
        }
        let environment = teardown.environment
        let hostPlans = teardown.plan.hosts
        // Write-ahead: forget what provisioning and upgrades finished on these hosts before the teardown changes
        // anything (the teardown script also removes the hosts' own records first), so a rebuild killed half-way
        // leaves hosts that `provision` builds again step by step instead of trusting a half-torn clone.
        try CommandFlow.clearJournals(
            of: hostPlans,
            inventory: teardown.plan.file,
            stateDirectory: runOptions.stateDirectory,
            redactor: teardown.redactor,
            open: teardown.journals
        )
        let outcome = await CommandFlow.execute(
            teardown,
            parallel: runOptions.parallel,
            fromStep: nil,
            verbose: runOptions.verbose,
            quiet: runOptions.quiet
        )
        guard outcome.exitCode == .success else {
            outcome.printRecap()
            Console.shared.err("A teardown failed, so nothing was provisioned again; fix it and run rebuild again.")
            throw outcome.exitCode
        }
        if !keepFolders {
            let logger = CommandFlow.logger(verbose: runOptions.verbose)
            for hostPlan in hostPlans {
                let removed = try await SSHSession.withConnection(
                    hostPlan.host.sshConfiguration(logger: logger, environment: environment)
                ) { session in
                    try await HostRun.removeServerFolders(
                        hostPlan,
                        transport: SSHHostTransport(session: session)
                    )
                }
                Console.shared.out("\(hostPlan.host.name): removed \(removed.count) server folder(s).")
            }
        }
        try await CommandFlow.perform(selection: selection, options: runOptions)
    }
}
