import ArgumentParser
import Foundation
import Logging
import Provisioning
import SSHKit

/// `octoprov provision`: the clone (and test-instance) flow on every selected host.
struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Provision the inventory's instances: every step, on every host, resumably.",
        discussion: """
            Runs each instance's steps (docs/steps.md) on its hosts over SSH: hosts in parallel, steps in \
            order. One host's failure never stops the others. A journal per inventory and instance \
            (docs/journal.md) records every step, so a run that was killed or lost its connection resumes \
            where it stopped, a changed input (a new backup, another version) reruns the affected steps, and a \
            second concurrent run on the same instance is refused. Step scripts print their progress prefixed \
            by the host (`HOST | line`); transfers show bytes and percent.

            A clone is quarantined before its service first starts, and verified through its REST API (over an \
            SSH port forward) at the end: version, health, every target, worker, trigger and subscription \
            disabled, counts, Server URI and Installation ID.

            Exit status: 0 when every host succeeded, 1 when some host failed, 2 when some host could not be \
            reached, 64 for invalid input, 75 when another run holds the instance's journal.

            Examples:
              octoprov provision -i Inventories/windows-clone.yml
              octoprov provision -i ~/.local/state/octoprov/sandbox/inventory.yml --parallel 3 \\
                --report-json report.json --junit junit.xml
              octoprov provision -i lab.yml --instance prod-clone --limit vm2 --from-step quarantine
            """
    )

    @OptionGroup var selection: PlanOptions

    @OptionGroup var runOptions: RunOptions

    @Option(
        name: .customLong("from-step"),
        help: ArgumentHelp("Run this step and every later one again, even when recorded as done.", valueName: "step")
    )
    var fromStep: String?

    func validate() throws {
        if let fromStep, !StepCatalogue.all.contains(where: { $0.name == fromStep }) {
            let names = StepCatalogue.all.map(\.name)
            throw ValidationError(
                "--from-step \(fromStep) is not a step; use one of: \(names.joined(separator: ", "))."
            )
        }
    }

    func run() async throws {
        try await CommandFlow.perform(
            selection: selection,
            options: runOptions,
            fromStep: fromStep.map(StepName.init(rawValue:))
        )
    }
}
