public import ArgumentParser
import Provisioning

/// The root `octoprov` command.
public struct Octoprov: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "octoprov",
        abstract: "Provision Octopus Deploy test instances and clones over SSH.",
        version: Provisioning.version,
        subcommands: []
    )

    public init() {}
}
