import ArgumentParser
import Foundation
import Provisioning

/// What `plan`, `provision` and `verify` select and render: the inventory and `--var` values, `--instance`,
/// `--limit` and `--templates`.
struct PlanOptions: ParsableArguments {
    @OptionGroup var inventory: InventoryOptions

    @Option(help: ArgumentHelp("Only this instance (default: all).", valueName: "name"))
    var instance: String?

    @Option(
        help: ArgumentHelp(
            "Hosts to act on: comma-separated host names, group names or globs, `!pattern` to exclude (default: all).",
            valueName: "pattern"
        )
    )
    var limit: String?

    @Option(help: ArgumentHelp("The templates folder (default: Templates above the executable).", valueName: "dir"))
    var templates: String?

    /// Checks the inventory and renders the plan without connecting. Prints the inventory's warnings, and on bad
    /// input (inventory, `--var`, `--instance`, `--limit`, templates) every problem, then throws exit code 64.
    ///
    /// - Parameter environment: The environment secrets and `env:` references are read from.
    /// - Returns: The plan and the checked inventory (for its file and redactor).
    func buildPlan(
        environment: [String: String],
        flow: ProvisioningPlan.Flow = .provision
    ) throws -> (plan: ProvisioningPlan, check: InventoryCheck) {
        let check = InventoryCheck.run(
            path: inventory.inventory,
            environment: environment,
            variables: inventory.variables
        )
        let redactor = check.redactor
        func fail(_ lines: [String]) -> ExitCode {
            for line in lines { Console.shared.err(redactor.redact(line)) }
            return ExitCode(64)
        }
        for warning in check.warnings { Console.shared.err(redactor.redact(warning.description)) }
        guard check.isValid else { throw fail(check.errors.map(\.description)) }
        let library: TemplateLibrary
        do {
            let folder = try TemplateFolder.locate(
                explicit: templates,
                executablePath: TemplateFolder.currentExecutablePath
            )
            library = try TemplateLibrary(directory: folder)
        } catch {
            throw fail(error.errors.map(\.description))
        }
        do {
            return (
                try ProvisioningPlan.build(
                    check: check,
                    instance: instance,
                    limit: limit,
                    templates: library,
                    flow: flow
                ), check
            )
        } catch {
            throw fail(error.description.split(separator: "\n").map(String.init))
        }
    }
}

/// How `provision` and `verify` run: `--parallel`, `--state-dir`, the reports, `--quiet` and `--verbose`.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many hosts to work on at once.", valueName: "n"))
    var parallel: Int = 10

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "Where journals are kept (default: $XDG_STATE_HOME/octoprov/journal or ~/.local/state/octoprov/journal).",
            valueName: "dir"
        )
    )
    var stateDirectory: String?

    @Option(
        name: .customLong("report-json"),
        help: ArgumentHelp("Write a JSON report (per host, per step) to this file.", valueName: "file")
    )
    var reportJSON: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report to this file.", valueName: "file"))
    var junit: String?

    @Flag(name: .shortAndLong, help: "Print only step results, failures and the recap.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print connection details and libssh2 error codes.")
    var verbose = false

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1.") }
    }
}
