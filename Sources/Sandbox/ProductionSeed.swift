import Foundation
import LoopbackVMs

#if canImport(Glibc)
    import Glibc
#endif

/// The sandbox's "production": installed from the mirror's package of its version, seeded by the stand-in
/// (`octopus-standin seed`) with targets, workers and subscriptions pointing at the sandbox's listeners.
///
/// ```
/// DIR/production/install/octopus-standin-<version>/   production's own install of the stand-in
/// DIR/production/sql/                                  production's SQL Server (OCTOPUS_STANDIN_DATA)
/// DIR/production/OctopusDeploy.bak                     last night's backup
/// DIR/production/folders/{Packages,Artifacts,…}        the server folders
/// DIR/production/master-key                            the Master Key (0600)
/// DIR/production/seed.json                             what was seeded
/// ```
enum ProductionSeed {
    struct Result {
        var backup: String
    }

    static func installDirectory(_ layout: SandboxLayout) -> String { "\(layout.productionDirectory)/install" }
    static func backupPath(_ layout: SandboxLayout) -> String { "\(layout.productionDirectory)/OctopusDeploy.bak" }
    static func masterKeyPath(_ layout: SandboxLayout) -> String { "\(layout.productionDirectory)/master-key" }
    static func foldersDirectory(_ layout: SandboxLayout) -> String { "\(layout.productionDirectory)/folders" }

    /// Installs production's package and seeds it.
    static func seed(
        layout: SandboxLayout,
        version: String,
        listeners: [SandboxState.Listener],
        packageSize: Int? = nil
    ) throws -> Result {
        func url(_ role: String, scheme: String, path: String) throws -> String {
            guard let listener = listeners.first(where: { $0.role == role }) else {
                throw SandboxError("No \(role) listener was started.")
            }
            return "\(scheme)://\(listener.address):\(listener.port)\(path)"
        }
        let install = installDirectory(layout)
        try FileManager.default.createDirectory(atPath: install, withIntermediateDirectories: true)
        let tarball = "\(layout.mirrorDirectory)/\(StandInPackager.fileName(version: version))"
        let extracted = try ChildProcess.run("/bin/tar", ["-xzf", tarball, "-C", install], timeout: 120)
        guard extracted.exitStatus == 0 else {
            throw SandboxError("Cannot extract \(tarball): \(extracted.output.suffix(300))")
        }
        let binary = "\(install)/octopus-standin-\(version)/bin/octopus-standin"
        var environment = ProcessInfo.processInfo.environment
        environment["OCTOPUS_STANDIN_DATA"] = "\(layout.productionDirectory)/sql"
        let seeded = try ChildProcess.run(
            binary,
            [
                "seed", "--version", version, "--out", layout.productionDirectory,
                "--target-endpoint", try url("targets", scheme: "https", path: "/"),
                "--webhook-url", try url("webhooks", scheme: "http", path: "/octopus-events"),
                "--server-uri", try url("server", scheme: "http", path: ""),
            ] + (packageSize.map { ["--package-size", String($0)] } ?? []),
            environment: environment,
            timeout: 300
        )
        guard seeded.exitStatus == 0 else {
            throw SandboxError("Seeding production failed: \(seeded.output.suffix(500))")
        }
        return Result(backup: backupPath(layout))
    }

    /// The production instance's home, where its config, logs and `standin.pid` are.
    static func homeDirectory(_ layout: SandboxLayout) -> String { "\(layout.productionDirectory)/home" }

    /// Production's `Octopus.Server`, run with production's SQL data folder; a Master Key goes in `MASTER_KEY`
    /// (the Linux container's variable the stand-in reads), never in the process's arguments.
    static func octopusServer(
        layout: SandboxLayout,
        version: String,
        _ arguments: [String],
        masterKey: String? = nil
    ) throws -> ChildProcess.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["OCTOPUS_STANDIN_DATA"] = "\(layout.productionDirectory)/sql"
        if let masterKey { environment["MASTER_KEY"] = masterKey }
        let binary = "\(installDirectory(layout))/octopus-standin-\(version)/bin/Octopus.Server"
        return try ChildProcess.run(binary, arguments, environment: environment, timeout: 120)
    }

    /// Brings production up as a running instance on `address`: its seeded database, its own Master Key,
    /// listening on `http://address:port`. It behaves as production does (health checks, triggers,
    /// webhooks), from its own address, so contacts from clones can be told apart.
    /// - Returns: The instance's URL.
    static func start(layout: SandboxLayout, version: String, address: String, port: Int) throws -> String {
        let home = homeDirectory(layout)
        let masterKey = try String(contentsOfFile: masterKeyPath(layout), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let url = "http://\(address):\(port)"
        let steps: [[String]] = [
            [
                "create-instance", "--instance", "Production", "--config", "\(home)/Production.config.json",
                "--home", home, "--serverNodeName", "prod-node-1",
            ],
            [
                "database", "--instance", "Production", "--connectionString",
                "Server=production-sql;Database=OctopusDeploy;Trusted_Connection=True;",
            ],
            ["configure", "--instance", "Production", "--webListenPrefixes", url],
            ["service", "--instance", "Production", "--install", "--reconfigure", "--start"],
        ]
        for step in steps {
            let result = try octopusServer(
                layout: layout,
                version: version,
                step,
                masterKey: step[0] == "database" ? masterKey : nil
            )
            guard result.exitStatus == 0 else {
                let output = result.output.replacingOccurrences(of: masterKey, with: "***")
                throw SandboxError("Starting production failed at `\(step[0])`: \(output.suffix(400))")
            }
        }
        return url
    }

    /// Takes a fresh full backup of production's database, as its nightly job would, with production's own
    /// `sqlcmd` (`BACKUP DATABASE … TO DISK … WITH INIT`), into `DIR/production/OctopusDeploy-<UTC time>.bak`:
    /// the newest match of the inventory's `backup: production/OctopusDeploy*.bak`.
    /// - Returns: The backup's path.
    static func backUp(layout: SandboxLayout, version: String, now: Date = Date()) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        var path = "\(layout.productionDirectory)/OctopusDeploy-\(formatter.string(from: now)).bak"
        var suffix = 1
        while FileManager.default.fileExists(atPath: path) {
            suffix += 1
            path = "\(layout.productionDirectory)/OctopusDeploy-\(formatter.string(from: now))-\(suffix).bak"
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OCTOPUS_STANDIN_DATA"] = "\(layout.productionDirectory)/sql"
        let sqlcmd = "\(installDirectory(layout))/octopus-standin-\(version)/bin/sqlcmd"
        let result = try ChildProcess.run(
            sqlcmd,
            [
                "-b", "-S", "production-sql", "-Q",
                "BACKUP DATABASE [OctopusDeploy] TO DISK = N'\(path.replacingOccurrences(of: "'", with: "''"))' WITH INIT",
            ],
            environment: environment,
            timeout: 300
        )
        guard result.exitStatus == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw SandboxError("Backing up production failed: \(result.output.suffix(400))")
        }
        return path
    }

    /// The production server's PID, from its `standin.pid`.
    static func serverPID(_ layout: SandboxLayout) -> Int32? {
        guard let text = try? String(contentsOfFile: "\(homeDirectory(layout))/standin.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        return pid
    }

    /// Stops the production instance (its service), then makes sure `pid` (read when it started, in case
    /// the folder is gone) is gone too.
    static func stop(layout: SandboxLayout, version: String, pid: Int32?) {
        _ = try? octopusServer(layout: layout, version: version, ["service", "--instance", "Production", "--stop"])
        if let pid = pid ?? serverPID(layout), kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
        }
    }
}
