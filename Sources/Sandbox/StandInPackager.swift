import Foundation
import LoopbackVMs

/// Builds stand-in install packages: one tarball per Octopus version, the way a vendor's download mirror
/// holds one installer per version, each with a `.sha256` file beside it.
///
/// Package layout (what `Templates/standin/install.sh` expects):
/// ```
/// octopus-standin-<version>/VERSION            the version the package is stamped with
/// octopus-standin-<version>/bin/octopus-standin
/// octopus-standin-<version>/bin/Octopus.Server -> octopus-standin
/// octopus-standin-<version>/bin/sqlcmd         -> octopus-standin
/// octopus-standin-<version>/bin/Octopus.Migrator -> octopus-standin
/// ```
/// Every package holds the same binary; it reads its version from `VERSION`. Tarballs are reproducible
/// (sorted names, fixed owner and time, gzip without a timestamp), so the same binary gives the same SHA-256.
public enum StandInPackager {
    /// One built package.
    public struct Package: Sendable, Hashable {
        public var version: String
        /// The tarball, absolute.
        public var path: String
        /// Lower-case hex SHA-256 of the tarball.
        public var sha256: String
    }

    /// The tarball's file name for `version`.
    public static func fileName(version: String) -> String { "octopus-standin-\(version).tar.gz" }

    /// Builds a package per version into `mirror` (created if needed), replacing existing ones.
    ///
    /// - Parameters:
    ///   - versions: Octopus versions such as `2023.3.13026`; letters, digits, `.` and `-` only.
    ///   - binary: The `octopus-standin` executable to package.
    ///   - mirror: The mirror folder.
    /// - Returns: The packages, in the order of `versions`.
    /// - Throws: ``SandboxError`` for a bad version, a missing binary or a failing `tar`/`sha256sum`.
    public static func build(versions: [String], binary: String, into mirror: String) throws -> [Package] {
        let fileManager = FileManager.default
        guard fileManager.isExecutableFile(atPath: binary) else {
            throw SandboxError("The stand-in binary \(binary) does not exist or is not executable; run `swift build`.")
        }
        try fileManager.createDirectory(atPath: mirror, withIntermediateDirectories: true)
        let staging = mirror + "/.staging-\(getpid())"
        defer { try? fileManager.removeItem(atPath: staging) }
        var packages: [Package] = []
        for version in versions {
            guard !version.isEmpty,
                version.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) })
            else {
                throw SandboxError("\"\(version)\" is not a version a package can be named after.")
            }
            let top = "octopus-standin-\(version)"
            let root = "\(staging)/\(top)"
            try fileManager.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
            try Data((version + "\n").utf8).write(to: URL(fileURLWithPath: root + "/VERSION"))
            try fileManager.copyItem(atPath: binary, toPath: root + "/bin/octopus-standin")
            for link in ["Octopus.Server", "sqlcmd", "Octopus.Migrator"] {
                try fileManager.createSymbolicLink(
                    atPath: "\(root)/bin/\(link)",
                    withDestinationPath: "octopus-standin"
                )
            }
            let tarball = "\(mirror)/\(fileName(version: version))"
            try run(
                "tar",
                [
                    "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
                    "-I", "gzip -n", "-cf", tarball, "-C", staging, top,
                ]
            )
            let sum = try run("sha256sum", [tarball])
            guard let sha256 = sum.split(separator: " ").first.map(String.init), sha256.count == 64 else {
                throw SandboxError("sha256sum printed no checksum for \(tarball).")
            }
            try Data("\(sha256)  \(fileName(version: version))\n".utf8)
                .write(to: URL(fileURLWithPath: tarball + ".sha256"))
            try fileManager.removeItem(atPath: root)
            packages.append(Package(version: version, path: tarball, sha256: sha256))
        }
        return packages
    }

    @discardableResult
    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let path = ["/usr/bin/\(tool)", "/bin/\(tool)"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw SandboxError("`\(tool)` is not installed; the sandbox needs it.") }
        let result = try ChildProcess.run(path, arguments, timeout: 120)
        guard result.exitStatus == 0 else {
            throw SandboxError("`\(tool)` failed (exit \(result.exitStatus)): \(result.output.suffix(300))")
        }
        return result.output
    }
}
