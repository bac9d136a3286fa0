import Foundation
import OctopusStandIn
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway machine for the stand-in: a data folder (`OCTOPUS_STANDIN_DATA`) with SQL Server
/// `localhost` installed, and stand-in packages of chosen versions, each `<root>/pkg-<version>/VERSION`
/// plus `bin/Octopus.Server`, `bin/sqlcmd` and `bin/octopus-standin` linked to the built binary.
struct StandInMachine: ~Copyable {
    static let binary = BuiltProducts.location(of: "octopus-standin")

    let root: String
    var data: String { "\(root)/data" }
    var dataFolder: DataFolder { DataFolder(root: data) }

    /// The result of running a program.
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    init() throws {
        root =
            FileManager.default.temporaryDirectory.appendingPathComponent("standin-machine-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try DataFolder(root: "\(root)/data").createServer("localhost")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The `bin` folder of the package of a version (made on first use).
    func package(_ version: String) throws -> String {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary),
            "Build it first: swift build --product octopus-standin"
        )
        let folder = "\(root)/pkg-\(version)"
        let bin = "\(folder)/bin"
        if !FileManager.default.fileExists(atPath: bin) {
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try "\(version)\n".write(toFile: "\(folder)/VERSION", atomically: true, encoding: .utf8)
            for name in ["octopus-standin", "Octopus.Server", "sqlcmd"] {
                try FileManager.default.createSymbolicLink(atPath: "\(bin)/\(name)", withDestinationPath: Self.binary)
            }
        }
        return bin
    }

    /// Runs `Octopus.Server` of a version's package.
    func server(_ version: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try run("\(try package(version))/Octopus.Server", arguments, environment: environment)
    }

    /// Runs sqlcmd (of any package: sqlcmd is not versioned).
    func sqlcmd(_ arguments: [String]) throws -> Run {
        try run("\(try package("2023.3.13026"))/sqlcmd", arguments)
    }

    /// Runs a program with this machine's data folder, collecting its output.
    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let run = try TestProcess.run(
            executable,
            arguments,
            environment: ["OCTOPUS_STANDIN_DATA": data, "PATH": "/usr/bin:/bin", "HOME": root].merging(environment) {
                $1
            },
            currentDirectory: root
        )
        return Run(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }

    /// Opens a database of SQL Server `localhost`.
    func open(_ database: String) throws -> SQLiteDatabase {
        try dataFolder.open(server: "localhost", database: database)
    }

    /// The single column of a query, as text.
    func column(_ database: String, _ sql: String) throws -> [String] {
        try open(database).query(sql).rows.map { $0.first?.description ?? "" }
    }

    /// The config file path of an instance made by ``provision(version:instance:database:port:)``.
    func configPath(_ instance: String) -> String { "\(root)/\(instance)/\(instance).config.json" }

    /// The docs' new-instance sequence (octopus-facts.md §2.3) for one instance, stopping at the first failure.
    /// - Returns: Each step's run.
    @discardableResult
    func provision(
        version: String,
        instance: String = "OctopusServer",
        database: String = "Octopus",
        port: Int = 18080,
        masterKey: String? = nil
    ) throws -> [Run] {
        var steps: [[String]] = [
            [
                "create-instance", "--instance", instance, "--config", configPath(instance), "--serverNodeName",
                "node-\(instance)", "--console",
            ],
            ["database", "--instance", instance, "--connectionString", Self.connectionString(database), "--create"]
                + (masterKey.map { ["--masterKey", $0] } ?? []),
            [
                "configure", "--instance", instance, "--upgradeCheck", "True", "--webForceSSL", "False",
                "--webListenPrefixes", "http://localhost:\(port)", "--commsListenPort", "10943",
            ],
            [
                "admin", "--instance", instance, "--username", "admin", "--email", "admin@example.com", "--password",
                Self.adminPassword,
            ],
            ["license", "--instance", instance, "--licenseBase64", Self.licenseBase64],
        ]
        if version.hasPrefix("3.") {
            steps[1] = ["database", "--instance", instance, "--create"]
            steps.insert(
                ["configure", "--instance", instance, "--storageConnectionString", Self.connectionString(database)]
                    + (masterKey.map { ["--masterKey", $0] } ?? []),
                at: 1
            )
        }
        var runs: [Run] = []
        for step in steps {
            let run = try server(version, step)
            runs.append(run)
            #expect(run.status == 0, "\(step.first ?? ""): \(run.all)")
            if run.status != 0 { break }
        }
        return runs
    }

    /// A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        try POSIXSocket.freePort(on: POSIXSocket.loopback)
    }

    /// Starts an instance as a service, runs `body` while it serves, then stops it.
    /// - Returns: The start's run (its stdout says where it listens).
    @discardableResult
    func whileServing(
        _ version: String,
        instance: String = "OctopusServer",
        environment: [String: String] = [:],
        _ body: () throws -> Void = {}
    ) throws -> Run {
        let start = try server(
            version,
            ["service", "--instance", instance, "--install", "--reconfigure", "--start"],
            environment: environment
        )
        #expect(start.status == 0, "\(start.all)")
        defer {
            let stop = try? server(version, ["service", "--instance", instance, "--stop"])
            #expect(stop?.status == 0, "\(stop?.all ?? "")")
        }
        if start.status == 0 { try body() }
        return start
    }

    /// GETs `url` (no API key) and returns the status and body.
    static func get(_ url: String) throws -> (status: Int, body: String) {
        let result = try StandInMachine.curl(url)
        return result
    }

    private static func curl(_ url: String) throws -> (status: Int, body: String) {
        let run = try TestProcess.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import sys, urllib.request, urllib.error
                try:
                    r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); print(r.read().decode())
                except urllib.error.HTTPError as e:
                    print(e.code); print(e.read().decode())
                """,
                url,
            ]
        )
        let text = run.stdout
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(lines.first ?? "") ?? 0, lines.count > 1 ? String(lines[1]) : "")
    }

    static let adminPassword = "Correct-Horse-9!"
    static let apiKey = "API-TESTKEY0123456789ABCDEFGH"
    static let licenseXML = "<License><SerialNumber>SN-42</SerialNumber><Edition>Test</Edition></License>"
    static var licenseBase64: String { Data(licenseXML.utf8).base64EncodedString() }

    static func connectionString(_ database: String) -> String {
        "Server=(local);Database=\(database);Trusted_Connection=True;"
    }
}
