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

    @OptionGroup var options: InventoryOptions

    @Option(help: ArgumentHelp("Verify only this instance (default: all).", valueName: "name"))
    var instance: String?

    @Option(
        help: ArgumentHelp(
            "Hosts to act on: comma-separated host names, group names or globs, `!pattern` to exclude (default: all).",
            valueName: "pattern"
        )
    )
    var limit: String?

    @Option(help: ArgumentHelp("How many hosts to work on at once.", valueName: "n"))
    var parallel: Int = 10

    @Option(help: ArgumentHelp("The templates folder (default: Templates above the executable).", valueName: "dir"))
    var templates: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where journals are kept.", valueName: "dir"))
    var stateDirectory: String?

    @Option(name: .customLong("report-json"), help: ArgumentHelp("Write a JSON report here.", valueName: "file"))
    var reportJSON: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report here.", valueName: "file"))
    var junit: String?

    @Flag(name: .shortAndLong, help: "Print only results, failures and the recap.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print connection details and libssh2 error codes.")
    var verbose = false

    mutating func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1.") }
    }

    func run() async throws {
        let run = try ProvisionRun.prepare(
            options: options,
            instance: instance,
            limit: limit,
            templates: templates,
            stateDirectory: stateDirectory
        )
        let outcome = await run.execute(
            parallel: parallel,
            fromStep: nil,
            onlyStep: "verify",
            verbose: verbose,
            quiet: quiet,
            verifierFactory: { _, logger in
                RESTVerifier.make(logger: logger, environment: ProcessInfo.processInfo.environment)
            }
        )
        try outcome.writeReports(json: reportJSON, junit: junit)
        outcome.printRecap()
        throw outcome.exitCode
    }
}
