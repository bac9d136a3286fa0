public import Foundation
import LoopbackVMs

#if canImport(Glibc)
    import Glibc
#endif

/// `sandbox up`, `status` and `down`: start a supervisor in the background, read its state, stop it.
public enum SandboxControl {
    /// Starts a sandbox: creates the folder, starts the supervisor as a daemon (`EXECUTABLE sandbox supervise
    /// …`) and waits until it is ready or has failed.
    ///
    /// - Parameters:
    ///   - options: The folder and what to start.
    ///   - executable: The octoprov binary, absolute (the supervisor runs `executable sandbox supervise`).
    ///   - timeout: Seconds to wait for the supervisor.
    ///   - progress: Called with each new message of the supervisor.
    /// - Returns: The ready state.
    /// - Throws: ``SandboxError`` when a sandbox already runs there, the folder is not a sandbox's, or starting
    ///   failed (the supervisor then stopped what it had started; its log stays in the folder).
    public static func up(
        _ options: SandboxOptions,
        executable: String,
        timeout: TimeInterval = 300,
        progress: (String) -> Void
    ) throws -> SandboxState {
        let layout = options.layout
        try prepareFolder(layout)
        let pid = try ChildProcess.launchDetached(
            executable,
            [
                "sandbox", "supervise", "--dir", layout.directory, "--vms", String(options.vmCount),
                "--version", options.productionVersion, "--standin", options.standinBinary,
            ] + (options.packageSize.map { ["--package-size", String($0)] } ?? []),
            outputPath: layout.logPath
        )
        let deadline = Date().addingTimeInterval(timeout)
        var lastMessage: String?
        while Date() < deadline {
            if let state = SandboxState.read(from: layout), state.supervisorPID == pid {
                switch state.status {
                case .ready:
                    return state
                case .failed:
                    throw SandboxError(
                        "The sandbox did not start: \(state.message ?? "no reason given"). Its log is \(layout.logPath)."
                    )
                case .starting, .stopped:
                    if let message = state.message, message != lastMessage {
                        progress(message)
                        lastMessage = message
                    }
                }
            }
            if !isAlive(pid) {
                throw SandboxError(
                    "The sandbox supervisor (PID \(pid)) exited while starting; see \(layout.logPath)."
                )
            }
            usleep(100_000)
        }
        kill(pid, SIGTERM)
        throw SandboxError(
            "The sandbox was not ready after \(Int(timeout)) s and was stopped; see \(layout.logPath)."
        )
    }

    /// What a sandbox folder holds and whether its processes run.
    public struct Status: Sendable {
        public var state: SandboxState
        /// Whether the supervisor process is alive.
        public var supervisorRunning: Bool
        /// Per VM: whether its sshd is alive.
        public var vmsRunning: [String: Bool]
        /// Contacts recorded per listener role, production's own left out.
        public var contacts: [String: Int]
        /// Whether production's instance runs.
        public var productionRunning: Bool
    }

    /// Reads a sandbox's state; nil when the folder holds no sandbox.
    /// Takes a fresh backup of the running sandbox's production (its nightly backup), the newest file the
    /// inventory's `backup:` pattern matches.
    ///
    /// - Parameter layout: The sandbox.
    /// - Returns: The backup's path.
    /// - Throws: ``SandboxError`` when there is no ready sandbox or the backup fails.
    public static func backUpProduction(_ layout: SandboxLayout) throws -> String {
        guard let state = SandboxState.read(from: layout), state.status == .ready,
            let version = state.productionVersion
        else {
            throw SandboxError("No ready sandbox in \(layout.directory); start one with `octoprov sandbox up`.")
        }
        return try ProductionSeed.backUp(layout: layout, version: version)
    }

    public static func status(_ layout: SandboxLayout) -> Status? {
        guard let state = SandboxState.read(from: layout) else { return nil }
        var running: [String: Bool] = [:]
        for vm in state.vms { running[vm.name] = isAlive(vm.sshdPID) }
        return Status(
            state: state,
            supervisorRunning: isAlive(state.supervisorPID),
            vmsRunning: running,
            contacts: contactCounts(layout),
            productionRunning: state.productionPIDFile
                .flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                .map(isAlive) ?? false
        )
    }

    /// Contacts recorded per listener role (`targets`, `webhooks`, `server`) that did NOT come from
    /// production itself (whose contacts come from ``SandboxOptions/productionAddress``): contacts from
    /// anything else, a clone above all, which must stay at zero.
    public static func contactCounts(_ layout: SandboxLayout) -> [String: Int] {
        var counts: [String: Int] = [:]
        for contact in contacts(layout) where !contact.fromProduction {
            counts[contact.listener, default: 0] += 1
        }
        return counts
    }

    /// One recorded contact with a production listener.
    public struct Contact: Sendable, Hashable {
        public var listener: String
        /// `address:port` of the caller.
        public var peer: String
        public var request: String
        /// Whether production's own instance made it (its normal life, not a leak).
        public var fromProduction: Bool
    }

    /// Every recorded contact, oldest first.
    public static func contacts(_ layout: SandboxLayout) -> [Contact] {
        guard let text = try? String(contentsOfFile: layout.contactsPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                let role = object["listener"], let peer = object["peer"]
            else { return nil }
            return Contact(
                listener: role,
                peer: peer,
                request: object["request"] ?? "",
                fromProduction: peer.hasPrefix(SandboxOptions.productionAddress + ":")
            )
        }
    }

    /// What `down` did.
    public struct Teardown: Sendable {
        /// PIDs that had to be killed with SIGKILL after the supervisor's stop (none after a clean stop).
        public var killedStragglers: [Int32]
        /// Whether there was a sandbox at all.
        public var found: Bool
    }

    /// Stops the supervisor (SIGTERM, then SIGKILL after `grace` seconds), makes sure no process of any VM is
    /// left (killing stragglers), and removes the folder.
    ///
    /// - Throws: ``SandboxError`` when the folder exists but is not a sandbox's (it is then left alone).
    public static func down(_ layout: SandboxLayout, grace: TimeInterval = 30) throws -> Teardown {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: layout.directory) else {
            return Teardown(killedStragglers: [], found: false)
        }
        guard let state = SandboxState.read(from: layout) else {
            throw SandboxError(
                "\(layout.directory) holds no sandbox.json, so it is not a sandbox folder; it was left as it is."
            )
        }
        if isAlive(state.supervisorPID) {
            kill(state.supervisorPID, SIGTERM)
            if !waitForExit(state.supervisorPID, timeout: grace) {
                kill(state.supervisorPID, SIGKILL)
                _ = waitForExit(state.supervisorPID, timeout: 10)
            }
        }
        if let pidFile = state.productionPIDFile,
            let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), isAlive(pid)
        {
            kill(pid, SIGKILL)
            _ = waitForExit(pid, timeout: 5)
        }
        var stragglers: [Int32] = []
        // The VMs' watchdogs sweep asynchronously after the supervisor is gone: give them a moment.
        let deadline = Date().addingTimeInterval(5)
        repeat {
            stragglers =
                state.vms.flatMap { LoopbackVM.processes(ofVMWithRoot: $0.rootDirectory) }
                + state.vms.map(\.sshdPID).filter { $0 > 0 && isAlive($0) }
            if stragglers.isEmpty { break }
            usleep(100_000)
        } while Date() < deadline
        for pid in stragglers { kill(pid, SIGKILL) }
        try fileManager.removeItem(atPath: layout.directory)
        return Teardown(killedStragglers: stragglers, found: true)
    }

    // MARK: - Helpers

    private static func prepareFolder(_ layout: SandboxLayout) throws {
        let fileManager = FileManager.default
        if let state = SandboxState.read(from: layout) {
            if isAlive(state.supervisorPID) {
                throw SandboxError(
                    "A sandbox already runs in \(layout.directory) (supervisor PID \(state.supervisorPID)); "
                        + "run `octoprov sandbox down --dir \(layout.directory)` first."
                )
            }
            // A sandbox whose supervisor died: clear what is left, then start afresh.
            _ = try down(layout)
        } else if let contents = try? fileManager.contentsOfDirectory(atPath: layout.directory), !contents.isEmpty {
            throw SandboxError(
                "\(layout.directory) exists and is not a sandbox folder; give an empty or new folder with --dir."
            )
        }
        try fileManager.createDirectory(
            atPath: layout.directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 { return errno == EPERM }
        // A zombie is dead for our purposes (our own child not yet reaped).
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z"
    }

    private static func waitForExit(_ pid: Int32, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            if !isAlive(pid) { return true }
            usleep(50_000)
        }
        return !isAlive(pid)
    }
}
