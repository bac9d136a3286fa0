import Foundation
import LoopbackVMs
import TestHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway folder under the temporary directory, plus the VMs and agents a test started in it; `cleanUp()`
/// stops them and deletes the folder.
final class Sandbox {
    let path: String
    private var vms: [LoopbackVM] = []
    private var agents: [SSHAgentProcess] = []

    init() throws {
        let name = "octoprov-tv-\(UUID().uuidString.prefix(8).lowercased())"
        path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    func key(_ type: SSHKeyType = .ed25519, name: String = "id", passphrase: String? = nil) throws -> SSHKeyPair {
        try SSHKeyPair.generate(type, in: file("keys"), name: name, passphrase: passphrase)
    }

    func startVM(
        _ name: String = "vm",
        address: String = "127.0.0.1",
        keys: [SSHKeyPair],
        configure: (inout LoopbackVM.Options) -> Void = { _ in }
    ) throws -> LoopbackVM {
        var options = LoopbackVM.Options()
        options.address = address
        options.authorizedKeys = keys
        configure(&options)
        let vm = try LoopbackVM.start(name: name, in: file("vms"), options: options)
        vms.append(vm)
        return vm
    }

    func startAgent() throws -> SSHAgentProcess {
        let agent = try SSHAgentProcess.start(in: file("agent"))
        agents.append(agent)
        return agent
    }

    /// Writes `lines` as a known_hosts file and returns its path.
    func knownHosts(_ lines: [String], name: String = "known_hosts") throws -> String {
        let path = file(name)
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func cleanUp() {
        vms.forEach { $0.stop() }
        agents.forEach { $0.stop() }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh sandbox that is cleaned up afterwards, whether `body` throws or not.
func withSandbox(_ body: (Sandbox) throws -> Void) throws {
    let sandbox = try Sandbox()
    defer { sandbox.cleanUp() }
    try body(sandbox)
}

typealias RunResult = ChildProcess.Result

/// Runs a program to completion (killing it after `timeout` seconds) and returns its status and combined output.
func run(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    timeout: TimeInterval = 20
) throws -> RunResult {
    try ChildProcess.run(executable, arguments, environment: environment, timeout: timeout)
}

/// Polls `condition` every 20 ms for up to `timeout` seconds.
func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() >= deadline {
            return false
        }
        usleep(20_000)
    }
    return true
}

/// The real OpenSSH client's arguments to run `command` on `vm` with strict host key checking against
/// `knownHosts`, no config file and no prompts.
func sshArguments(
    _ vm: LoopbackVM,
    knownHosts: String,
    identity: SSHKeyPair? = nil,
    extraOptions: [String] = [],
    command: String
) -> [String] {
    var arguments = [
        "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=\(knownHosts)",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "UpdateHostKeys=no",
        "-o", "ConnectTimeout=5",
        "-p", String(vm.port),
    ]
    if let identity {
        arguments += ["-i", identity.privateKeyPath, "-o", "IdentitiesOnly=yes"]
    }
    for option in extraOptions {
        arguments += ["-o", option]
    }
    return arguments + ["\(vm.user)@\(vm.address)", command]
}

let sshPath = "/usr/bin/ssh"

/// Runs the real `ssh` client against `vm`.
func ssh(
    _ vm: LoopbackVM,
    knownHosts: String,
    identity: SSHKeyPair? = nil,
    extraOptions: [String] = [],
    environment: [String: String]? = nil,
    command: String
) throws -> RunResult {
    let arguments = sshArguments(
        vm,
        knownHosts: knownHosts,
        identity: identity,
        extraOptions: extraOptions,
        command: command
    )
    return try run(sshPath, arguments, environment: environment)
}

/// `/proc` view for assertions: the state letter of `pid` (nil if it does not exist).
func processState(_ pid: pid_t) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else {
        return nil
    }
    return stat[stat.index(after: close)...].split(separator: " ").first?.first
}

/// Whether `pid` is a running (or stopped) process; exited processes, zombies included, count as gone.
func isRunningProcess(_ pid: pid_t) -> Bool {
    guard let state = processState(pid) else {
        return false
    }
    return state != "Z" && state != "X"
}

/// Every process that is a descendant of `root`, found through /proc/*/stat parent links.
func descendants(of root: pid_t) -> [pid_t] {
    var parents: [pid_t: pid_t] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(name),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else {
            continue
        }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = pid_t(fields[1]) {
            parents[pid] = parent
        }
    }
    var result: [pid_t] = []
    var frontier: Set<pid_t> = [root]
    while !frontier.isEmpty {
        let children = parents.filter { frontier.contains($0.value) }.map(\.key)
        result += children
        frontier = Set(children)
    }
    return result
}
