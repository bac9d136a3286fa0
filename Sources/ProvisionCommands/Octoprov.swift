public import ArgumentParser
import Provisioning

/// The root `octoprov` command.
public struct Octoprov: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "octoprov",
        abstract: "Provision Octopus Deploy test instances and clones over SSH.",
        discussion: """
            Hosts come from an inventory file (see Inventories/ for examples). Host keys are checked \
            against each host's known_hosts file; secrets are given by reference (env:NAME or file:PATH) \
            and never printed.
            """,
        version: OctoprovVersion.current,
        subcommands: [
            InventoryCommand.self, PlanCommand.self, ProvisionCommand.self, VerifyCommand.self, ExecCommand.self,
            CopyCommand.self, SandboxCommand.self, UpgradeCommand.self, RebuildCommand.self, UpgradePathCommand.self,
            DriftCommand.self,
        ]
    )

    public init() {}
}
