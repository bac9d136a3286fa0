import Foundation
import LoopbackVMs

/// Finds the programs this package builds (`octoprov`, `octopus-standin`) for the tests that run them.
///
/// They are where SwiftPM put the test bundle (`swift build` and `swift test` build into one folder per
/// configuration, so `swift test -c release` finds the release products), or in `OCTOPROV_BUILT_PRODUCTS` when
/// that is set.
public enum BuiltProducts {
    /// The environment variable that overrides the folder.
    public static let environmentVariable = "OCTOPROV_BUILT_PRODUCTS"

    /// The folder holding the built products.
    public static var directory: String {
        if let folder = ProcessInfo.processInfo.environment[environmentVariable], !folder.isEmpty { return folder }
        // The running test bundle: on Linux an executable in the products folder; /proc/self/exe resolves links.
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// Where the built program `name` is (or would be): for callers that check for it themselves.
    public static func location(of name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }

    /// The absolute path of the built program `name`.
    /// - Throws: ``LoopbackVMError/invalidArgument(_:)`` saying what to do when it is not built.
    public static func path(_ name: String) throws -> String {
        let path = location(of: name)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LoopbackVMError.invalidArgument(
                "\(path) is missing; run `swift build` (the same configuration as the tests) first, or set "
                    + "\(environmentVariable) to the folder holding it."
            )
        }
        return path
    }
}
