import Foundation

/// A stand-in install package: a folder holding `VERSION` (e.g. `2023.3.13026`) and `bin/` with
/// `octopus-standin` and the links `Octopus.Server` and `sqlcmd` to it.
///
/// The binary's version is the `VERSION` file at `../VERSION` from the folder of the path it was
/// invoked by (argv[0], symbolic links not resolved, `PATH` searched when argv[0] has no slash), so one
/// built binary linked into several package folders plays several versions.
public enum StandInPackage {
    /// The name of the version file at a package's root.
    public static let versionFileName = "VERSION"

    /// The path a program was invoked by: argv[0] itself when it has a slash, else the first executable
    /// of that name on `PATH` (as a shell would find it).
    /// - Parameters:
    ///   - argv0: The program's argv[0].
    ///   - environment: Read for `PATH`.
    /// - Returns: The path, or `nil` when argv[0] has no slash and is not on `PATH`.
    public static func invokedPath(argv0: String, environment: [String: String]) -> String? {
        if argv0.contains("/") { return argv0 }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = "\(folder.isEmpty ? "." : String(folder))/\(argv0)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The version file of the package an executable path belongs to: `<dir of path>/../VERSION`.
    public static func versionFile(forExecutable path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return "\(folder.isEmpty ? "." : folder)/../\(versionFileName)"
    }

    /// The version of the package the running binary was invoked from.
    /// - Parameters:
    ///   - argv0: The program's argv[0].
    ///   - environment: Read for `PATH`.
    /// - Returns: The version, or a ``StandInPackageError`` naming the file looked for.
    public static func version(
        argv0: String,
        environment: [String: String]
    ) -> Result<StandInVersion, StandInPackageError> {
        guard let path = invokedPath(argv0: argv0, environment: environment) else {
            return .failure(
                StandInPackageError(
                    "Cannot find '\(argv0)' on PATH, so the stand-in cannot find its package's \(versionFileName) file; "
                        + "run it by its path inside the package (<package>/bin/\(argv0))."
                )
            )
        }
        let file = versionFile(forExecutable: path)
        guard let data = FileManager.default.contents(atPath: file) else {
            return .failure(
                StandInPackageError(
                    "This stand-in (\(path)) is not inside a versioned package: \(file) does not exist. Install a "
                        + "stand-in package (<package>/\(versionFileName) and <package>/bin/Octopus.Server) and run "
                        + "its bin/Octopus.Server."
                )
            )
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let version = StandInVersion(text) else {
            let shown = text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(40)
            return .failure(
                StandInPackageError(
                    "\(file) holds '\(shown)', which is not an Octopus version such as 2023.3.13026; rebuild the package."
                )
            )
        }
        return .success(version)
    }
}

/// The running binary has no usable package version.
public struct StandInPackageError: Error, Sendable, CustomStringConvertible {
    /// One sentence naming the file looked for and what to do.
    public var message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
