import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// `run` and `service --start` in-process: the start checks, the ServerRuntime handed to the serve
/// function, and the detached service process with its PID file.
@Suite(.tags(.medium))
struct StartChecksTests {
    static let version = "2023.3.13026"

    /// Values a `@Sendable` closure hands back to the test.
    final class Captured<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [Value] = []
        func append(_ value: Value) { lock.withLock { stored.append(value) } }
        var values: [Value] { lock.withLock { stored } }
    }

    struct Outcome {
        var status: Int32
        var output: [String]
        var errors: [String]
    }

    func cli(
        _ machine: borrowing StandInMachine,
        selfInvocation: [String] = ["/bin/false"],
        serve: @escaping OctopusServerCLI.Serve = { _ in }
    ) throws -> OctopusServerCLI {
        var cli = OctopusServerCLI(
            version: .success(try #require(StandInVersion(Self.version))),
            dataFolder: machine.dataFolder,
            environment: ["OCTOPUS_STANDIN_DATA": machine.data, "PATH": "/usr/bin:/bin"],
            selfInvocation: selfInvocation,
            serve: serve
        )
        cli.currentDirectory = machine.root
        cli.startTimeout = 20
        return cli
    }

    func run(_ cli: OctopusServerCLI, _ arguments: [String]) -> Outcome {
        let output = Captured<String>()
        let errors = Captured<String>()
        let status = cli.run(arguments, output: output.append, errorOutput: errors.append)
        return Outcome(status: status, output: output.values, errors: errors.values)
    }

    @Test func theServeFunctionGetsTheInstancesRuntime() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.version, port: 18111)
        let runtimes = Captured<ServerRuntime>()
        let pidFiles = Captured<String>()
        let home = "\(machine.root)/OctopusServer"
        let cli = try cli(machine) { runtime in
            runtimes.append(runtime)
            pidFiles.append(
                (try? String(contentsOfFile: "\(runtime.homeDirectory)/standin.pid", encoding: .utf8)) ?? ""
            )
        }
        let outcome = run(cli, ["run", "--instance", "OctopusServer", "--console"])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(
            runtimes.values == [
                ServerRuntime(
                    instanceName: "OctopusServer",
                    nodeName: "node-OctopusServer",
                    listenPrefixes: ["http://localhost:18111"],
                    databasePath: machine.dataFolder.databasePath(server: "(local)", database: "Octopus"),
                    version: Self.version,
                    homeDirectory: home,
                    masterKey: try machine.masterKey(ofInstance: "OctopusServer")
                )
            ]
        )
        #expect(pidFiles.values == ["\(getpid())\n"], "the PID file names the serving process while it serves")
        #expect(!FileManager.default.fileExists(atPath: "\(home)/standin.pid"), "and is removed when it returns")
        #expect(try machine.column("Octopus", "SELECT Name FROM OctopusServerNode") == ["node-OctopusServer"])
    }

    @Test func aServeFailureIsTheVerbsFailure() throws {
        let machine = try StandInMachine()
        try machine.provision(version: Self.version)
        struct PortTaken: Error, CustomStringConvertible {
            var description: String { "Address already in use" }
        }
        let outcome = run(try cli(machine) { _ in throw PortTaken() }, ["run"])
        #expect(outcome.status == 100)
        #expect(outcome.errors == ["Octopus Server stopped: Address already in use"])
    }

    @Test func startRefusesAnUnconfiguredInstance() throws {
        let machine = try StandInMachine()
        let cli = try cli(machine) { _ in Issue.record("must not serve") }
        let none = run(cli, ["run", "--instance", "Nowhere"])
        #expect(none.status == 100)
        #expect(none.errors.first?.contains("Instance 'Nowhere' of Octopus Server has not been configured") == true)
        _ = run(cli, ["create-instance", "--config", "\(machine.root)/i/i.config.json"])
        let noDatabase = run(cli, ["run"])
        #expect(noDatabase.errors.first?.contains("has no database connection string") == true)
        _ = run(cli, ["database", "--connectionString", StandInMachine.connectionString("Octopus"), "--create"])
        _ = run(cli, ["license", "--licenseBase64", StandInMachine.licenseBase64])
        let noPrefix = run(cli, ["run"])
        #expect(noPrefix.status == 100)
        #expect(noPrefix.errors.first?.contains("no web listen prefix is configured") == true, "\(noPrefix.errors)")
    }

    @Test func startRefusesAMissingLicence() throws {
        let machine = try StandInMachine()
        let cli = try cli(machine) { _ in Issue.record("must not serve") }
        _ = run(cli, ["create-instance", "--config", "\(machine.root)/i/i.config.json"])
        _ = run(cli, ["database", "--connectionString", StandInMachine.connectionString("Octopus"), "--create"])
        _ = run(cli, ["configure", "--webListenPrefixes", "http://localhost:18112"])
        let outcome = run(cli, ["service", "--install", "--start"])
        #expect(outcome.status == 100)
        #expect(outcome.errors.first?.contains("no licence is installed in database \"Octopus\"") == true)
    }

    @Test func aTruncatedBackupNeverBecomesAStartableDatabase() throws {
        let machine = try StandInMachine()
        let key = MasterKey.generate()
        try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "Production",
            version: try #require(StandInVersion(Self.version)),
            masterKey: key
        )
        let bak = "\(machine.root)/p.bak"
        try DatabaseBackup.backup(dataFolder: machine.dataFolder, server: "localhost", database: "Production", to: bak)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bak))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: bak))
        #expect(throws: TSQLError.self) {
            try DatabaseBackup.restore(
                dataFolder: machine.dataFolder,
                server: "localhost",
                database: "Clone",
                from: bak,
                moves: [("Production", "\(machine.root)/c.mdf"), ("Production_log", "\(machine.root)/c.ldf")]
            )
        }
        let cli = try cli(machine) { _ in Issue.record("must not serve") }
        _ = run(cli, ["create-instance", "--config", "\(machine.root)/i/i.config.json"])
        let database = run(
            cli,
            ["database", "--connectionString", StandInMachine.connectionString("Clone"), "--masterKey", key.base64]
        )
        #expect(database.status == 100)
        #expect(database.errors.first?.contains("Cannot open database \"Clone\"") == true)
    }

    /// The service machinery with a stand-in for the stand-in's HTTP server: a Python HTTP server run the
    /// way `service --start` runs the binary (`… run --instance X`).
    @Test func serviceStartsADetachedServerAndStopsIt() throws {
        let python = "/usr/bin/python3"
        try #require(FileManager.default.isExecutableFile(atPath: python), "needs python3 for a listening process")
        let machine = try StandInMachine()
        let port = Int.random(in: 30000...39999)
        try machine.provision(version: Self.version, port: port)
        let script = try writeScript(
            """
            import http.server, sys
            print("fake server", " ".join(sys.argv[1:]), flush=True)
            http.server.HTTPServer(("127.0.0.1", \(port)), http.server.SimpleHTTPRequestHandler).serve_forever()
            """,
            named: "fake-server.py",
            in: machine.root
        )
        let cli = try cli(machine, selfInvocation: [python, script])
        let start = run(cli, ["service", "--instance", "OctopusServer", "--install", "--start"])
        #expect(start.status == 0, "\(start.errors)")
        #expect(start.output.last?.hasPrefix("Service OctopusDeploy started (PID ") == true, "\(start.output)")
        let pidFile = "\(machine.root)/OctopusServer/standin.pid"
        let pid = try #require(
            pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        )
        #expect(kill(pid, 0) == 0)
        #expect(getsid(pid) == pid, "the server leads its own session, so it outlives the SSH session")
        let log = try String(contentsOfFile: "\(machine.root)/OctopusServer/Logs/OctopusServer.txt", encoding: .utf8)
        #expect(log.contains("fake server run --instance OctopusServer"))

        let again = run(cli, ["service", "--start"])
        #expect(again.status == 0)
        #expect(again.output.last == "Service OctopusDeploy is already running (PID \(pid)).")

        let stop = run(cli, ["service", "--stop"])
        #expect(stop.status == 0, "\(stop.errors)")
        #expect(stop.output.last == "Service OctopusDeploy stopped.")
        #expect(!FileManager.default.fileExists(atPath: pidFile))
        // The PID file goes first, then the process exits: reap it, allowing a loaded machine a few seconds.
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0, Date() < deadline {
            _ = waitpid(pid, &status, WNOHANG)  // a zombie child answers kill(0) until reaped
            usleep(10_000)
        }
        #expect(kill(pid, 0) != 0, "the server process is gone")

        let restart = run(cli, ["service", "--restart"])
        #expect(restart.status == 0, "\(restart.errors)")
        let uninstall = run(cli, ["service", "--uninstall"])
        #expect(uninstall.status == 0)
        #expect(uninstall.output.contains("Service OctopusDeploy stopped."))
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }
}
