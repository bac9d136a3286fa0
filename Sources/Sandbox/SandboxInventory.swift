import Foundation

/// The inventory `sandbox up` writes for its VMs: `DIR/inventory.yml`, paths relative to DIR.
struct SandboxInventory {
    var layout: SandboxLayout
    var state: SandboxState

    var text: String {
        var lines = [
            "# Written by `octoprov sandbox up`: \(state.vms.count) fresh VM(s), real sshd on loopback.",
            "# Removed by `octoprov sandbox down`. Paths are relative to this folder.",
            "defaults:",
            "  user: \(NSUserName())",
            "  identity: keys/id_ed25519",
            "  known_hosts: known_hosts",
            "  host_key_policy: strict",
            "  agent: false",
            "hosts:",
        ]
        for vm in state.vms {
            lines += ["  \(vm.name):", "    address: \(vm.address)", "    port: \(vm.port)"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func write() throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: layout.inventoryPath), options: .atomic)
    }
}
