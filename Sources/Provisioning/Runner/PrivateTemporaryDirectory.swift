import Foundation

/// Creates a fresh folder under the temporary directory that only this user can enter (0700), for files that pass
/// through octoprov on their way to or from a host.
///
/// - Parameter prefix: The start of the folder's name.
/// - Returns: The folder's path; the caller removes it.
func privateTemporaryDirectory(_ prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
        atPath: path,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
    )
    return path
}
