import ArgumentParser
import Foundation
import Provisioning

/// `octoprov inventory`: commands about inventory files.
struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Check inventory files.",
        subcommands: [InventoryCheckCommand.self]
    )
}

/// `octoprov inventory check`: validate an inventory completely without touching any host.
struct InventoryCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check an inventory: every key, file, secret reference, group, instance and variable.",
        discussion: """
            Reports every problem at once, each as FILE:LINE:COLUMN and the key, with the nearest valid \
            key for a typo. Secret references are read (an unset variable or an unreadable file is a \
            problem) but never printed; local packages are checked against their sha256. No host is \
            contacted.

            Exit status: 0 when the inventory is valid (a short summary is printed), 64 when it is not.

            Examples:
              octoprov inventory check -i Inventories/windows-clone.yml
              octoprov inventory check -i lab.yml --var sql_server=db1
            """
    )

    @OptionGroup var options: InventoryOptions

    func run() async throws {
        let check = InventoryCheck.run(
            path: options.inventory,
            environment: ProcessInfo.processInfo.environment,
            variables: options.variables
        )
        let redactor = check.redactor
        for warning in check.warnings {
            Console.shared.err(redactor.redact(warning.description))
        }
        guard check.isValid else {
            for error in check.errors {
                Console.shared.err(redactor.redact(error.description))
            }
            let count = check.errors.count
            Console.shared.err("\(options.inventory): \(count) problem\(count == 1 ? "" : "s"); nothing was touched.")
            throw ExitCode(64)
        }
        for line in Self.summary(check) {
            Console.shared.out(redactor.redact(line))
        }
    }

    /// The lines printed for a valid inventory.
    static func summary(_ check: InventoryCheck) -> [String] {
        let inventory = check.inventory
        var byPlatform: [String: Int] = [:]
        for host in inventory.hosts {
            byPlatform[host.platform?.rawValue ?? "no platform", default: 0] += 1
        }
        let platformOrder = Platform.allCases.map(\.rawValue) + ["no platform"]
        let platforms = platformOrder.compactMap { name in byPlatform[name].map { "\(name) \($0)" } }
        var lines = [
            "\(check.file) is valid.",
            "  hosts: \(inventory.hosts.count) (\(platforms.joined(separator: ", ")))",
            "  groups: \(inventory.groups.count)"
                + (inventory.groups.isEmpty ? "" : " (\(inventory.groups.map(\.name).joined(separator: ", ")))"),
            "  instances: \(inventory.instances.count)",
        ]
        let nameWidth = inventory.instances.map(\.name.count).max() ?? 0
        for spec in inventory.instances {
            lines.append(
                "    \(pad(spec.name, nameWidth))  \(pad(spec.mode.rawValue, 13))  Octopus \(pad(spec.version.description, 12))  "
                    + "\(pad(spec.platform.rawValue, 15))  \(spec.hosts.joined(separator: ", "))"
            )
        }
        if !check.warnings.isEmpty {
            lines.append("  warnings: \(check.warnings.count) (printed above)")
        }
        return lines
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
