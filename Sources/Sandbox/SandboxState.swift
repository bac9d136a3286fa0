import Foundation

/// What a sandbox's supervisor has started, written to `sandbox.json` whenever it changes.
public struct SandboxState: Codable, Sendable, Hashable {
    /// Where the supervisor is in its life.
    public enum Status: String, Codable, Sendable {
        /// Starting VMs, listeners, packages and production.
        case starting
        /// Everything runs.
        case ready
        /// Starting failed; ``SandboxState/message`` says why. The supervisor has stopped what it started.
        case failed
        /// `sandbox down` stopped it.
        case stopped
    }

    /// One "fresh VM": an sshd on a loopback address.
    public struct VM: Codable, Sendable, Hashable {
        public var name: String
        public var address: String
        public var port: Int
        /// The VM's disk (`OCTOPROV_VM_ROOT` in its sessions).
        public var rootDirectory: String
        /// The sshd listener's PID.
        public var sshdPID: Int32
        /// The port the VM's Octopus listens on (`web_listen_prefix`), free when the sandbox started, so that
        /// sandboxes running side by side never answer for each other.
        public var webPort: Int?
    }

    /// A loopback listener playing a piece of production that a clone must never contact.
    public struct Listener: Codable, Sendable, Hashable {
        /// `targets` (deployment targets' endpoints), `webhooks` (subscriptions) or `server` (production's
        /// Server URI).
        public var role: String
        public var address: String
        public var port: Int
    }

    public var status: Status
    /// The supervisor's PID; it owns every process of the sandbox.
    public var supervisorPID: Int32
    /// Why starting failed, or what the supervisor is doing.
    public var message: String?
    public var vms: [VM] = []
    public var listeners: [Listener] = []
    /// Versions whose install packages are in the mirror.
    public var packageVersions: [String] = []
    /// The version the seeded production runs (its backup's version).
    public var productionVersion: String?
    /// Production's running instance (the source of test instances), e.g. `http://127.0.20.4:41234`.
    public var productionURL: String?
    /// The file holding the production instance's PID.
    public var productionPIDFile: String?

    /// Reads `sandbox.json`; nil when it does not exist or cannot be parsed.
    public static func read(from layout: SandboxLayout) -> SandboxState? {
        guard let data = FileManager.default.contents(atPath: layout.statePath) else { return nil }
        return try? JSONDecoder().decode(SandboxState.self, from: data)
    }

    /// Writes `sandbox.json` atomically (a temporary file renamed over it).
    public func write(to layout: SandboxLayout) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try data.write(to: URL(fileURLWithPath: layout.statePath), options: .atomic)
    }
}
