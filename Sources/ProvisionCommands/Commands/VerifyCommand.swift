import ArgumentParser
import Foundation
import Provisioning

/// `octoprov verify`: only the verify step, against instances provisioned earlier.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check existing clones and test instances: quarantine on the host, then the REST checks.",
        discussion: """
            Runs only the verify step of each selected host (docs/steps.md): the host's script checks that the \
            clone's database is still quarantined, then octoprov reaches the instance's REST API through an SSH \
            port forward and checks the version, health, that every target, worker, trigger and subscription in \
            every space is disabled, the counts, the Server URI and the Installation ID (the instance's `verify:` \
            list). It compares with what the last `provision` recorded in the journal, and uses the API key \
            provision created, so run `provision` first.

            Exit status: 0 when every check passed on every host, 1 when some check failed, 2 when some host \
            could not be reached, 64 for invalid input, 75 when a provision run holds the instance's journal.

            Examples:
              octoprov verify -i Inventories/windows-clone.yml
              octoprov verify -i ~/.local/state/octoprov/sandbox/inventory.yml --junit verify.xml
            """
    )

    @OptionGroup var selection: PlanOptions

    @OptionGroup var runOptions: RunOptions

    func run() async throws {
        try await CommandFlow.perform(selection: selection, options: runOptions, onlyStep: .verify)
    }
}
