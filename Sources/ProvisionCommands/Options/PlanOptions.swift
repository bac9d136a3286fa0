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
    /// - Parameters:
    ///   - environment: The environment secrets and `env:` references are read from.
    ///   - flow: The flow to plan.
    /// - Returns: The plan and the checked inventory (for its file and redactor).
    func buildPlan(
        environment: [String: String],
        flow: ProvisioningPlan.Flow = .provision
    ) throws -> (plan: ProvisioningPlan, check: InventoryCheck) {
        let checked = try checkInventory(environment: environment)
        return (try render(checked, flow: flow), checked.check)
    }

    /// An inventory checked, with the templates to render its plans.
    struct Checked {
        var check: InventoryCheck
        var library: TemplateLibrary
    }

    /// Checks the inventory and loads the templates. Prints the inventory's warnings, and on bad input (inventory,
    /// `--var`, templates) every problem, then throws exit code 64.
    func checkInventory(environment: [String: String]) throws -> Checked {
        let check = InventoryCheck.run(
            path: inventory.inventory,
            environment: environment,
            variables: inventory.variables
        )
        for warning in check.warnings { Console.shared.err(check.redactor.redact(warning.description)) }
        guard check.isValid else { throw Self.fail(check.errors.map(\.description), check.redactor) }
        do {
            let folder = try TemplateFolder.locate(
                explicit: templates,
                executablePath: TemplateFolder.currentExecutablePath
            )
            return Checked(check: check, library: try TemplateLibrary(directory: folder))
        } catch {
            throw Self.fail(error.errors.map(\.description), check.redactor)
        }
    }

    /// Renders the plan of a checked inventory for `--instance` and `--limit`; on bad input prints every problem and
    /// throws exit code 64.
    ///
    /// - Parameters:
    ///   - checked: What ``checkInventory(environment:)`` returned.
    ///   - flow: The flow to plan.
    ///   - restoredBackups: By `instance/host`, the backup each clone was restored from
    ///     (``ProvisioningPlan/build(check:instance:limit:templates:flow:restoredBackups:)``).
    func render(
        _ checked: Checked,
        flow: ProvisioningPlan.Flow = .provision,
        restoredBackups: [String: String] = [:]
    ) throws -> ProvisioningPlan {
        do {
            return try ProvisioningPlan.build(
                check: checked.check,
                instance: instance,
                limit: limit,
                templates: checked.library,
                flow: flow,
                restoredBackups: restoredBackups
            )
        } catch {
            throw Self.fail(error.description.split(separator: "\n").map(String.init), checked.check.redactor)
        }
    }

    /// Prints each line, redacted, and returns exit code 64.
    private static func fail(_ lines: [String], _ redactor: Redactor) -> ExitCode {
        for line in lines { Console.shared.err(redactor.redact(line)) }
        return ExitCode(64)
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
