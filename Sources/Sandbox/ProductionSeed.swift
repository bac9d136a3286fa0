import Foundation
import TestSupport

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
    static func seed(layout: SandboxLayout, version: String, listeners: [SandboxState.Listener]) throws -> Result {
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
            ],
            environment: environment,
            timeout: 300
        )
        guard seeded.exitStatus == 0 else {
            throw SandboxError("Seeding production failed: \(seeded.output.suffix(500))")
        }
        return Result(backup: backupPath(layout))
    }
}
