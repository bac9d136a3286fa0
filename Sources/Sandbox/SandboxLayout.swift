import Foundation

/// Where a sandbox keeps its files, all under one folder that `sandbox down` removes.
///
/// ```
/// DIR/sandbox.json        the supervisor's state (PIDs, addresses, ports)
/// DIR/sandbox.log         the supervisor's log
/// DIR/inventory.yml       an inventory of the VMs and the sandbox instances
/// DIR/known_hosts         the VMs' host keys
/// DIR/keys/id_ed25519     the key the inventory logs in with
/// DIR/vms/NAME/           one folder per VM (sshd config and log; root/ is the VM's disk)
/// DIR/mirror/             stand-in install packages and their .sha256 files
/// DIR/production/         the seeded "production": backup, folders, master key, contacts.jsonl
/// ```
public struct SandboxLayout: Sendable, Hashable {
    /// The sandbox folder, absolute.
    public let directory: String

    /// - Parameter directory: The sandbox folder, absolute.
    public init(directory: String) {
        self.directory = directory
    }

    /// The default folder: `$XDG_STATE_HOME/octoprov/sandbox`, or `~/.local/state/octoprov/sandbox`.
    public static func defaultDirectory(environment: [String: String]) -> String {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return "\(state)/octoprov/sandbox"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.local/state/octoprov/sandbox"
    }

    public var statePath: String { "\(directory)/sandbox.json" }
    public var logPath: String { "\(directory)/sandbox.log" }
    public var inventoryPath: String { "\(directory)/inventory.yml" }
    public var knownHostsPath: String { "\(directory)/known_hosts" }
    public var keysDirectory: String { "\(directory)/keys" }
    public var identityPath: String { "\(keysDirectory)/id_ed25519" }
    public var vmsDirectory: String { "\(directory)/vms" }
    public var mirrorDirectory: String { "\(directory)/mirror" }
    public var productionDirectory: String { "\(directory)/production" }
    /// One JSON object per contact with a "production" listener.
    public var contactsPath: String { "\(productionDirectory)/contacts.jsonl" }
}
