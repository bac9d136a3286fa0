import Foundation
import SSHKit

/// The command line that runs an uploaded step script on a host.
///
/// On a POSIX host the script runs under a lock on `work_dir/octoprov-step.lock` (`flock(1)`, which util-linux puts
/// on every common Linux system). sshd does not stop a command whose client went away: after a run is killed or
/// loses its connection, the step it was running (a long `RESTORE`, say) may still be at work on the host, and so
/// may its children, which hold the lock too. The next run's step then waits for it to end, saying so, instead of
/// acting beside it; after `lockTimeout` seconds it ends with one sentence and exit status 75. A host without
/// `flock` runs the script without the lock. Windows runs the script with PowerShell, without a lock.
public enum StepCommand {
    /// How long a step waits for the lock an earlier step holds, in seconds.
    public static let lockTimeout = 900

    /// The lock file's name in the work folder.
    public static let lockFileName = "octoprov-step.lock"

    /// The command to run `script` (a path on the host) on `platform`.
    ///
    /// - Parameters:
    ///   - script: The uploaded script's path on the host.
    ///   - platform: The host's platform.
    ///   - workDirectory: The host's work folder, where the lock file is.
    ///   - lockTimeout: Seconds to wait for the lock.
    /// - Returns: The command, for the login shell of the SSH user.
    public static func command(
        running script: String,
        on platform: Platform,
        workDirectory: String,
        lockTimeout: Int = lockTimeout
    ) -> String {
        switch platform {
        case .windows:
            return "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \""
                + script.replacingOccurrences(of: "\"", with: "") + "\""
        case .linuxContainer, .standin:
            let lock = posixShellQuoted(platform.join(workDirectory, lockFileName))
            let wait =
                lockTimeout >= 60 && lockTimeout % 60 == 0
                ? "\(lockTimeout / 60) minute\(lockTimeout == 60 ? "" : "s")"
                : "\(lockTimeout) second\(lockTimeout == 1 ? "" : "s")"
            // sh -c, whatever the SSH user's login shell is; fd 9 stays open in bash and in what it starts. umask 077:
            // the lock file, like everything octoprov leaves in the work folder, is its owner's alone.
            let wrapper = """
                umask 077; \
                if command -v flock >/dev/null 2>&1 && exec 9>>\(lock); then \
                if ! flock -n 9; then \
                echo "Waiting for another octoprov step on this host to end (it holds "\(lock)")." >&2; \
                flock -w \(lockTimeout) 9 || { echo "Another octoprov step held "\(lock)" on this host for \(wait); \
                a run that was killed or lost its connection may have left it running. Wait for it to end, then run \
                again." >&2; exit 75; }; \
                fi; \
                fi; \
                exec bash \(posixShellQuoted(script))
                """
            return "sh -c " + posixShellQuoted(wrapper)
        }
    }
}
