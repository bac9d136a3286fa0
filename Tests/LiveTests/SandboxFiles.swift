import Foundation
import Provisioning
import Sandbox

/// Writes `text` to `path`, created with mode 0600 as a secret file must be (never readable by others, not even
/// for a moment).
func writePrivateFile(_ text: String, to path: String) throws {
    guard
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
}

/// The SHA-256 a sandbox mirror's `.sha256` file gives for a version's package.
func mirrorPackageSHA256(_ layout: SandboxLayout, version: String) throws -> String {
    let file = "\(layout.mirrorDirectory)/octopus-standin-\(version).tar.gz.sha256"
    let line = try String(contentsOfFile: file, encoding: .utf8)
    return String(line.prefix { !$0.isWhitespace })
}

/// A client for the sandbox's production instance, with production's admin API key (`DIR/production/api-key`).
func productionClient(_ layout: SandboxLayout, state: SandboxState) throws -> OctopusClient {
    guard let url = state.productionURL else { throw CocoaError(.fileReadUnknown) }
    let apiKey = try String(contentsOfFile: "\(layout.productionDirectory)/api-key", encoding: .utf8)
    return try OctopusClient(baseURL: url, apiKey: apiKey.trimmingCharacters(in: .whitespacesAndNewlines))
}
