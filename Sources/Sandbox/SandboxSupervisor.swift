import Foundation
import LoopbackVMs

#if canImport(Glibc)
    import Glibc
#endif

/// What `sandbox up` asks for.
public struct SandboxOptions: Sendable {
    /// The sandbox folder.
    public var layout: SandboxLayout
    /// How many fresh VMs to start.
    public var vmCount: Int
    /// The version "production" runs and its backup comes from.
    public var productionVersion: String
    /// The `octopus-standin` binary the packages are built from.
    public var standinBinary: String
    /// The size of each seeded package in production's Packages folder, in bytes (`nil`: the seed's default).
    public var packageSize: Int?

    /// The version production runs unless told otherwise.
    public static let defaultProductionVersion = "2023.3.13026"
    /// Versions the mirror always holds besides production's: one before Export/Import Projects (2021.1),
    /// and one newer to rehearse an upgrade to.
    public static let extraVersions = ["2020.6.4937", "2024.1.11892"]

    public init(
        layout: SandboxLayout,
        vmCount: Int,
        productionVersion: String,
        standinBinary: String,
        packageSize: Int? = nil
    ) {
        self.layout = layout
        self.vmCount = vmCount
        self.productionVersion = productionVersion
        self.standinBinary = standinBinary
        self.packageSize = packageSize
    }

    /// Every version the mirror holds, oldest first as given, without repeats.
    var mirrorVersions: [String] {
        var seen = Set<String>()
        return (Self.extraVersions + [productionVersion]).filter { seen.insert($0).inserted }
    }

    /// Where production's own instance listens, and so where its outgoing contacts come from.
    public static let productionAddress = "127.0.20.4"

    /// The loopback address of VM number `index` (1-based): `127.0.10.index`.
    static func vmAddress(_ index: Int) -> String { "127.0.10.\(index)" }
}

/// The long-running process that owns everything a sandbox runs: it starts the VMs and the "production"
/// listeners, writes the inventory, reports through `sandbox.json`, and stops it all on SIGTERM or SIGINT.
///
/// Owning everything in one process means nothing can be left behind: the VMs' watchdogs (LoopbackVMs'
/// lifelines) kill each sshd and every process its sessions started, stand-in servers included, as soon as
/// this process exits, however it exits.
public enum SandboxSupervisor {
    /// Runs until SIGTERM or SIGINT; returns the exit status (0 after a clean stop, 1 when starting failed).
    public static func run(_ options: SandboxOptions) -> Int32 {
        // Block the stop signals in every thread (threads inherit the mask) so that sigwait receives them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let layout = options.layout
        var state = SandboxState(status: .starting, supervisorPID: getpid(), message: "starting")
        var vms: [LoopbackVM] = []
        var recorder: ContactRecorder?
        var productionStarted = false
        var productionPID: Int32?
        defer {
            if productionStarted {
                ProductionSeed.stop(layout: layout, version: options.productionVersion, pid: productionPID)
            }
            recorder?.stop()
            for vm in vms { vm.stop() }
        }
        do {
            try state.write(to: layout)
            log("starting \(options.vmCount) VM(s) in \(layout.vmsDirectory)")
            let key = try SSHKeyPair.generate(.ed25519, in: layout.keysDirectory, name: "id_ed25519")
            var vmOptions = LoopbackVM.Options()
            vmOptions.authorizedKeys = [key]
            for index in 1...options.vmCount {
                vmOptions.address = SandboxOptions.vmAddress(index)
                let vm = try LoopbackVM.start(name: "vm\(index)", in: layout.vmsDirectory, options: vmOptions)
                vms.append(vm)
                state.vms.append(
                    SandboxState.VM(
                        name: vm.name,
                        address: vm.address,
                        port: vm.port,
                        rootDirectory: vm.rootDirectory,
                        sshdPID: vm.processIdentifier ?? 0,
                        webPort: try Loopback.freePort(address: vm.address)
                    )
                )
                log("\(vm.name) listens on \(vm.address):\(vm.port)")
            }
            let knownHosts = try vms.flatMap { try $0.knownHostsLines() }
            try Data(knownHosts.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: layout.knownHostsPath))

            state.message = "building install packages"
            try state.write(to: layout)
            let packages = try StandInPackager.build(
                versions: options.mirrorVersions,
                binary: options.standinBinary,
                into: layout.mirrorDirectory
            )
            state.packageVersions = packages.map(\.version)
            log("mirror: \(packages.map(\.version).joined(separator: ", "))")

            try FileManager.default.createDirectory(
                atPath: layout.productionDirectory,
                withIntermediateDirectories: true
            )
            let listeners = try ContactRecorder(
                endpoints: [
                    .init(role: "targets", address: "127.0.20.1"),
                    .init(role: "webhooks", address: "127.0.20.2"),
                    .init(role: "server", address: "127.0.20.3"),
                ],
                contactsPath: layout.contactsPath
            )
            listeners.start()
            recorder = listeners
            state.listeners = listeners.listeners

            state.message = "seeding production \(options.productionVersion)"
            try state.write(to: layout)
            let production = try ProductionSeed.seed(
                layout: layout,
                version: options.productionVersion,
                listeners: state.listeners,
                packageSize: options.packageSize
            )
            state.productionVersion = options.productionVersion
            log("seeded production \(options.productionVersion): \(production.backup)")

            state.message = "starting production"
            try state.write(to: layout)
            productionStarted = true
            state.productionURL = try ProductionSeed.start(
                layout: layout,
                version: options.productionVersion,
                address: SandboxOptions.productionAddress,
                port: try Loopback.freePort(address: SandboxOptions.productionAddress)
            )
            state.productionPIDFile = "\(ProductionSeed.homeDirectory(layout))/standin.pid"
            productionPID = ProductionSeed.serverPID(layout)
            log("production serves \(state.productionURL ?? "")")

            guard let package = packages.first(where: { $0.version == options.productionVersion }) else {
                throw SandboxError("The mirror has no package of production's version \(options.productionVersion).")
            }
            try SandboxInventory(layout: layout, state: state, productionPackageSHA256: package.sha256).write()
            state.status = .ready
            state.message = nil
            try state.write(to: layout)
            log("ready")
        } catch {
            log("failed: \(error)")
            state.status = .failed
            state.message = "\(error)"
            try? state.write(to: layout)
            return 1
        }

        // Wait for a stop signal; also stop if the sandbox folder was removed behind our back (nothing
        // could then find us to stop us).
        var received: Int32 = 0
        var timeout = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            let signal = sigtimedwait(&stopSignals, nil, &timeout)
            if signal > 0 {
                received = signal
                break
            }
            if !FileManager.default.fileExists(atPath: layout.statePath) {
                log("stopping: \(layout.statePath) was removed")
                break
            }
        }
        log("stopping (signal \(received))")
        ProductionSeed.stop(layout: layout, version: options.productionVersion, pid: productionPID)
        productionStarted = false
        recorder?.stop()
        for vm in vms { vm.stop() }
        state.status = .stopped
        try? state.write(to: layout)
        return 0
    }

    private static func log(_ line: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write(Data("\(stamp) \(line)\n".utf8))
    }
}
