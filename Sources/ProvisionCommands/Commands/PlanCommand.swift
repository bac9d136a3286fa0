import ArgumentParser
import Foundation
import Provisioning

/// `octoprov plan`: render every step of every selected host without connecting, and show the ordered plan.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what provisioning would do on each host, and render its scripts, without connecting.",
        discussion: """
            Checks the inventory exactly like `octoprov inventory check`, then renders every step's script \
            and T-SQL for every host of the selected instances and prints the ordered plan: each step, where \
            it runs, what it will do, its templates, and the secrets it needs by reference (never their \
            values). The output is deterministic: the same input gives byte-identical text and files.

            Templates come from --templates DIR, else from the Templates folder found above the octoprov \
            executable. With --output DIR each host's folder DIR/<instance>/<host>/ holds what its work_dir \
            gets: the scripts as <NN>-<step>.<ext> and, beside them, the T-SQL files under the names the \
            scripts read (restore.sql, verify-quarantine.sql …).

            Exit status: 0 when the plan was built, 64 for an invalid inventory, --var, --instance or \
            --limit, a missing template or one that does not render, or an output folder that cannot be \
            written.

            Examples:
              octoprov plan -i Inventories/windows-clone.yml
              octoprov plan -i lab.yml --instance prod-clone --limit 'clones,!vm2' --output /tmp/plan
              octoprov plan -i lab.yml --var sql_server='db1\\SQLEXPRESS' --templates ./my-templates
            """
    )

    @OptionGroup var selection: PlanOptions

    @Option(help: ArgumentHelp("Write the rendered scripts under this folder.", valueName: "dir"))
    var output: String?

    func run() async throws {
        let (plan, check) = try selection.buildPlan(environment: ProcessInfo.processInfo.environment)
        let redactor = check.redactor
        for line in plan.lines {
            Console.shared.out(redactor.redact(line))
        }
        if let output {
            do {
                let written = try plan.write(to: output)
                Console.shared.err(redactor.redact("Wrote \(written.count) files under \(output)."))
            } catch {
                Console.shared.err(redactor.redact(error.description))
                throw ExitCode(64)
            }
        }
    }
}
