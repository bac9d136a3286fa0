import ArgumentParser
import Foundation
import Sandbox

/// `octoprov sandbox`: fresh loopback VMs and a seeded "production" to try octoprov without any VM.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Start, inspect and stop a local sandbox of fresh VMs to try octoprov on.",
        discussion: """
            A sandbox is real OpenSSH sshd processes on loopback addresses (127.0.10.N), each with its own \
            folder as its disk, plus loopback listeners that play production's targets, webhook receivers \
            and Server URI and record every contact. It writes DIR/inventory.yml for them. Needs root \
            (sshd's privilege separation) and OpenSSH's sshd.

            Examples:
              octoprov sandbox up --vms 3
              octoprov exec -i ~/.local/state/octoprov/sandbox/inventory.yml -- uname -n
              octoprov sandbox status
              octoprov sandbox down
            """,
        subcommands: [Up.self, Status.self, Backup.self, Down.self, Supervise.self]
    )

    struct DirectoryOption: ParsableArguments {
        @Option(
            name: .customLong("dir"),
            help: ArgumentHelp(
                "The sandbox folder (default: $XDG_STATE_HOME/octoprov/sandbox or ~/.local/state/octoprov/sandbox).",
                valueName: "folder"
            )
        )
        var directory: String?

        var layout: SandboxLayout {
            let environment = ProcessInfo.processInfo.environment
            let path = directory ?? SandboxLayout.defaultDirectory(environment: environment)
            let absolute =
                path.hasPrefix("/")
                ? path : FileManager.default.currentDirectoryPath + "/" + path
            return SandboxLayout(directory: (absolute as NSString).standardizingPath)
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a sandbox and write its inventory.",
            discussion: """
                Prints the inventory's path when everything runs. Exit status: 0 ready, 1 failed to \
                start (nothing is left running; the log stays in the folder), 64 invalid input.
                """
        )

        @OptionGroup var folder: DirectoryOption

        @Option(help: ArgumentHelp("How many fresh VMs to start (1–50).", valueName: "count"))
        var vms = 3

        @Option(
            name: .customLong("version"),
            help: ArgumentHelp(
                "The Octopus version production runs (default \(SandboxOptions.defaultProductionVersion)).",
                valueName: "version"
            )
        )
        var productionVersion = SandboxOptions.defaultProductionVersion

        @Option(
            name: .customLong("package-size"),
            help: ArgumentHelp(
                "The size of each package seeded in production's Packages folder, in bytes (for realistic copies).",
                valueName: "bytes"
            )
        )
        var packageSize: Int?

        @OptionGroup var standin: StandInOption

        func validate() throws {
            guard (1...50).contains(vms) else { throw ValidationError("--vms must be between 1 and 50.") }
            if let packageSize, packageSize < 1 { throw ValidationError("--package-size must be at least 1 byte.") }
            guard getuid() == 0 else {
                throw ValidationError("The sandbox starts sshd, which needs root: run it as root.")
            }
        }

        func run() throws {
            let layout = folder.layout
            let console = Console.shared
            console.err("Starting a sandbox with \(vms) VM(s) in \(layout.directory) …")
            let state: SandboxState
            do {
                state = try SandboxControl.up(
                    SandboxOptions(
                        layout: layout,
                        vmCount: vms,
                        productionVersion: productionVersion,
                        standinBinary: try standin.binary(),
                        packageSize: packageSize
                    ),
                    executable: try ownExecutable()
                ) { message in console.err("  \(message)") }
            } catch let error as SandboxError {
                console.err("error: \(error)")
                throw ExitCode.failure
            }
            for vm in state.vms {
                console.out("\(vm.name)  ssh \(vm.address):\(vm.port)  disk \(vm.rootDirectory)")
            }
            for listener in state.listeners {
                console.out("production \(listener.role)  \(listener.address):\(listener.port)")
            }
            if let url = state.productionURL {
                console.out("production instance  \(url)  (Octopus \(state.productionVersion ?? "?"))")
            }
            console.out("inventory: \(layout.inventoryPath)")
        }

    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a fresh backup of the sandbox's production, as its nightly job would.",
            discussion: """
                Writes DIR/production/OctopusDeploy-<UTC time>.bak with production's own sqlcmd (BACKUP DATABASE). \
                The sandbox inventory's `backup: production/OctopusDeploy*.bak` takes the newest backup, so the next \
                `octoprov rebuild` restores this one.

                Example:
                  octoprov sandbox backup && octoprov rebuild -i ~/.local/state/octoprov/sandbox/inventory.yml
                """
        )

        @OptionGroup var folder: DirectoryOption

        func run() throws {
            do {
                let path = try SandboxControl.backUpProduction(folder.layout)
                Console.shared.out("Backed up production to \(path).")
            } catch {
                Console.shared.err("\(error)")
                throw ExitCode.failure
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a sandbox runs.",
            discussion: "Exit status: 0 when everything runs, 1 when the sandbox is missing or partly down."
        )

        @OptionGroup var folder: DirectoryOption

        func run() throws {
            let layout = folder.layout
            let console = Console.shared
            guard let status = SandboxControl.status(layout) else {
                console.err("No sandbox in \(layout.directory); start one with `octoprov sandbox up`.")
                throw ExitCode.failure
            }
            let supervisor = status.supervisorRunning ? "running" : "not running"
            console.out(
                "sandbox \(layout.directory): \(status.state.status.rawValue), supervisor PID \(status.state.supervisorPID) \(supervisor)"
            )
            var healthy = status.supervisorRunning && status.state.status == .ready
            for vm in status.state.vms {
                let running = status.vmsRunning[vm.name] ?? false
                healthy = healthy && running
                console.out(
                    "  \(vm.name)  \(vm.address):\(vm.port)  sshd PID \(vm.sshdPID) \(running ? "running" : "stopped")"
                )
            }
            for listener in status.state.listeners {
                let count = status.contacts[listener.role] ?? 0
                console.out(
                    "  production \(listener.role)  \(listener.address):\(listener.port)  contacts from outside production: \(count)"
                )
            }
            if let url = status.state.productionURL {
                console.out("  production instance  \(url)  \(status.productionRunning ? "running" : "stopped")")
                healthy = healthy && status.productionRunning
            }
            console.out("  inventory: \(layout.inventoryPath)")
            if !healthy { throw ExitCode.failure }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop everything a sandbox started and remove its folder.",
            discussion: "Exit status: 0 when stopped (or nothing was there), 1 when the folder is not a sandbox's."
        )

        @OptionGroup var folder: DirectoryOption

        func run() throws {
            let layout = folder.layout
            let console = Console.shared
            do {
                let teardown = try SandboxControl.down(layout)
                guard teardown.found else {
                    console.err("No sandbox in \(layout.directory); nothing to stop.")
                    return
                }
                if !teardown.killedStragglers.isEmpty {
                    console.err(
                        "Killed \(teardown.killedStragglers.count) process(es) left after the supervisor stopped."
                    )
                }
                console.err("Sandbox stopped and \(layout.directory) removed.")
            } catch let error as SandboxError {
                console.err("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    /// The background process `up` starts; not for people.
    struct Supervise: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a sandbox's supervisor in the foreground (started by `sandbox up`).",
            shouldDisplay: false
        )

        @OptionGroup var folder: DirectoryOption

        @Option var vms = 3

        @Option var version = SandboxOptions.defaultProductionVersion

        @Option(name: .customLong("package-size")) var packageSize: Int?

        @OptionGroup var standin: StandInOption

        func run() throws {
            let options = SandboxOptions(
                layout: folder.layout,
                vmCount: vms,
                productionVersion: version,
                standinBinary: try standin.binary(),
                packageSize: packageSize
            )
            let status = SandboxSupervisor.run(options)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

/// `--standin PATH`: the stand-in binary the sandbox packages (default: `octopus-standin` beside octoprov).
struct StandInOption: ParsableArguments {
    @Option(
        name: .customLong("standin"),
        help: ArgumentHelp(
            "The octopus-standin binary to package (default: the one beside octoprov).",
            valueName: "path"
        )
    )
    var path: String?

    func binary() throws -> String {
        if let path {
            return path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
        let own = try ownExecutable()
        return ((own as NSString).deletingLastPathComponent as NSString).appendingPathComponent("octopus-standin")
    }
}

/// octoprov's own executable, absolute (for starting the sandbox's supervisor).
func ownExecutable() throws -> String {
    guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
        throw SandboxError("Cannot find octoprov's own executable through /proc/self/exe.")
    }
    return path
}
