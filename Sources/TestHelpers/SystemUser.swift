import Foundation
import LoopbackVMs

/// A throwaway local account with a password, for testing password authentication against a
/// `LoopbackVM` (sshd checks passwords against the system's accounts). Needs root; `remove()` deletes
/// the account and its home folder.
public final class SystemUser: @unchecked Sendable {
    public let name: String
    public let password: String
    public let home: String
    private let lock = NSLock()
    private var removed = false

    private init(name: String, password: String, home: String) {
        self.name = name
        self.password = password
        self.home = home
    }

    /// Creates `octoprov-XXXXXX` (random suffix) with a random password and its home under `directory`.
    public static func create(in directory: String) throws -> SystemUser {
        let suffix = String(UUID().uuidString.lowercased().prefix(8))
        let name = "octoprov-" + suffix
        let password = "pw-" + UUID().uuidString
        let home = directory + "/home-" + suffix
        let added = try ChildProcess.run(
            "/usr/sbin/useradd",
            ["--create-home", "--home-dir", home, "--shell", "/bin/sh", name]
        )
        guard added.exitStatus == 0 else {
            throw LoopbackVMError.commandFailed(
                command: ["useradd", name],
                exitStatus: added.exitStatus,
                output: added.output
            )
        }
        let user = SystemUser(name: name, password: password, home: home)
        let script = directory + "/chpasswd-" + suffix
        try Files.write("\(name):\(password)\n", to: script, permissions: 0o600)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let set = try ChildProcess.run("/bin/sh", ["-c", "/usr/sbin/chpasswd < \"$1\"", "sh", script])
        guard set.exitStatus == 0 else {
            user.remove()
            throw LoopbackVMError.commandFailed(command: ["chpasswd"], exitStatus: set.exitStatus, output: set.output)
        }
        return user
    }

    /// Deletes the account and its home folder. Idempotent.
    public func remove() {
        let first = lock.withLock { () -> Bool in
            defer { removed = true }
            return !removed
        }
        guard first else { return }
        _ = try? ChildProcess.run("/usr/sbin/userdel", ["--remove", name])
    }

    deinit { remove() }
}
