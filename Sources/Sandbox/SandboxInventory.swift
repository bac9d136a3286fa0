import Foundation

/// The inventory `sandbox up` writes: `DIR/inventory.yml`, paths relative to DIR.
///
/// Every VM is a `standin` host whose paths (install, home, data, work folders) live on its own disk, and
/// whose web listener is on its own loopback address, so that several clones run side by side. The
/// `sandbox-clone` instance clones the seeded production onto all of them.
struct SandboxInventory {
    var layout: SandboxLayout
    var state: SandboxState
    var productionPackageSHA256: String

    var text: String {
        let version = state.productionVersion ?? SandboxOptions.defaultProductionVersion
        var lines = [
            "# Written by `octoprov sandbox up`: \(state.vms.count) fresh VM(s), real sshd on loopback, and a",
            "# seeded production (Octopus \(version)) to clone. Removed by `octoprov sandbox down`.",
            "# Paths are relative to this folder.",
            "defaults:",
            "  user: \(NSUserName())",
            "  identity: keys/id_ed25519",
            "  known_hosts: known_hosts",
            "  host_key_policy: strict",
            "  agent: false",
            "  platform: standin",
            "hosts:",
        ]
        for vm in state.vms {
            let root = vm.rootDirectory
            lines += [
                "  \(vm.name):",
                "    address: \(vm.address)",
                "    port: \(vm.port)",
                "    vars:",
                "      install_dir: \(root)/opt/octopus-standin",
                "      home_dir: \(root)/octopus",
                "      work_dir: \(root)/tmp/octoprov",
                "      sql_data_root: \(root)/var/lib/octopus-standin",
                "      data_dir: \(root)/var/lib/octopus-standin/localhost",
                "      web_listen_prefix: http://\(vm.address):\(vm.webPort ?? 8080)",
            ]
        }
        lines += [
            "groups:",
            "  sandbox:",
            "    members: [\(state.vms.map(\.name).joined(separator: ", "))]",
            "instances:",
            "  sandbox-clone:",
            "    mode: clone",
            "    hosts: [sandbox]",
            "    version: \(version)",
            "    package:",
            "      mirror: mirror",
            "      sha256: \(productionPackageSHA256)",
            // The newest backup: `sandbox backup` adds OctopusDeploy-<time>.bak, as production's nightly job would.
            "    backup: production/OctopusDeploy*.bak",
            "    master_key: file:production/master-key",
            "    admin:",
            "      username: octoprov",
            "      email: octoprov@sandbox.invalid",
            "      password: file:production/admin-password",
        ]
        if let url = state.productionURL {
            // Read by `octoprov drift` only: production's projects, to compare with the clones'.
            lines += ["    production:", "      url: \(url)", "      api_key: file:production/api-key"]
        }
        lines += [
            "    folders:",
            "      packages: production/folders/Packages",
            "      artifacts: production/folders/Artifacts",
            "      task_logs: production/folders/TaskLogs",
        ]
        let folders = ProductionSeed.foldersDirectory(layout)
        if FileManager.default.fileExists(atPath: "\(folders)/EventExports") {
            lines.append("      event_exports: production/folders/EventExports")
        }
        if FileManager.default.fileExists(atPath: "\(folders)/Imports") {
            lines.append("      imports: production/folders/Imports")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The break-glass admin's password file the inventory references (0600, random, made once).
    static func adminPasswordPath(_ layout: SandboxLayout) -> String {
        "\(layout.productionDirectory)/admin-password"
    }

    func write() throws {
        let passwordPath = Self.adminPasswordPath(layout)
        if !FileManager.default.fileExists(atPath: passwordPath) {
            let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            var generator = SystemRandomNumberGenerator()
            let password = String((0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
            guard
                FileManager.default.createFile(
                    atPath: passwordPath,
                    contents: Data((password + "\n").utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            else { throw SandboxError("Cannot write the admin password file \(passwordPath).") }
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: layout.inventoryPath), options: .atomic)
    }
}
