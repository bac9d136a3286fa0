import Foundation
import LoopbackVMs
import SSHKit
import TestHelpers
import Testing

/// The built `octoprov` binary against real sshd VMs: output, messages and exit statuses.
@Suite("octoprov CLI against real sshd", .tags(.large))
struct CLILiveTests {
    @Test func execOnThreeHostsPrefixesOutputAndRecapsEachHost() throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vms = try (1...3).map { try fixture.startVM("vm\($0)", address: "127.0.0.\($0 + 1)") }
        let inventory = try writeInventory(fixture, vms)
        let ok = try runOctoprov(["exec", "-i", inventory, "--", "echo hi from $OCTOPROV_VM_NAME"])
        #expect(ok.status == 0)
        for vm in vms { #expect(ok.stdout.contains("\(vm.name) | hi from \(vm.name)")) }
        #expect(ok.stderr.contains("vm3   ok"))

        let failing = try runOctoprov(["exec", "-i", inventory, "--", "test $OCTOPROV_VM_NAME != vm2 || exit 42"])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("vm2   failed"))
        #expect(failing.stderr.contains("exit status 42"))

        let limited = try runOctoprov(["exec", "-i", inventory, "--limit", "vm*,!vm2", "--", "echo x >&2"])
        #expect(limited.status == 0)
        #expect(limited.stderr.contains("vm1 ! x"))
        #expect(!limited.stderr.contains("vm2"))
    }

    @Test func execAgainstAnUnknownHostSaysHowToTrustItAndFails() throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM(trusted: false)
        let inventory = try writeInventory(fixture, [vm])
        let result = try runOctoprov(["exec", "-i", inventory, "--", "true"])
        #expect(result.status == 2)
        let fingerprint = try HostKey(openSSHLine: vm.hostKeys[0].publicKeyLine).fingerprintSHA256
        let recap = result.stderr.split(separator: "\n").filter { $0.hasPrefix("vm1") }
        #expect(recap.count == 1)
        let line = String(recap.first ?? "")
        for part in ["vm1", "127.0.0.1:\(vm.port)", fingerprint, "host_key_policy: accept-new", "ssh-keyscan"] {
            #expect(line.contains(part), "recap lacks \(part): \(line)")
        }
    }

    @Test func copyUploadsAndDownloadsAndIsIdempotent() throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let inventory = try writeInventory(fixture, [vm])
        let source = fixture.directory + "/OctopusDeploy.bak"
        try LiveFixture.writeRandomFile(source, size: 3_000_000)
        let first = try runOctoprov(["copy", "-i", inventory, source, vm.rootDirectory + "/backup/"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("changed"))
        #expect(first.stderr.contains("sha256 verified"))
        #expect(
            FileManager.default.contentsEqual(atPath: source, andPath: vm.rootDirectory + "/backup/OctopusDeploy.bak")
        )
        let second = try runOctoprov(["copy", "-i", inventory, source, vm.rootDirectory + "/backup/"])
        #expect(second.status == 0)
        #expect(second.stderr.contains("all unchanged"))
        let back = try runOctoprov([
            "copy", "-i", inventory, "--download", vm.rootDirectory + "/backup", fixture.directory + "/dl",
        ])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(
            FileManager.default.contentsEqual(
                atPath: source,
                andPath: fixture.directory + "/dl/vm1/backup/OctopusDeploy.bak"
            )
        )
    }

    @Test func passwordsByFileAndEnvironmentReferenceNeverAppearInOutput() throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let user = try SystemUser.create(in: fixture.directory)
        defer { user.remove() }
        let vm = try fixture.startVM { $0.allowPasswordAuthentication = true }
        let secretFile = fixture.directory + "/vm1.pw"
        try (user.password + "\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        chmod(secretFile, 0o600)
        let inventory = fixture.directory + "/pw.yml"
        func writeInventory(password reference: String) throws {
            try """
            hosts:
              vm1:
                address: \(vm.address)
                port: \(vm.port)
                user: \(user.name)
                password: \(reference)
                known_hosts: \(fixture.knownHostsPath)
                agent: false

            """.write(toFile: inventory, atomically: true, encoding: .utf8)
        }
        for reference in ["file:\(secretFile)", "env:OCTOPROV_TEST_PW"] {
            try writeInventory(password: reference)
            let result = try runOctoprov(
                ["exec", "-v", "-i", inventory, "--", "id -un"],
                environment: ["OCTOPROV_TEST_PW": user.password]
            )
            #expect(result.status == 0, "\(reference): \(result.stderr)")
            #expect(result.stdout.contains("vm1 | \(user.name)"))
            #expect(!(result.stdout + result.stderr).contains(user.password))
        }
        // A password file others can read is refused before any host is touched.
        try writeInventory(password: "file:\(secretFile)")
        chmod(secretFile, 0o644)
        let refused = try runOctoprov(["exec", "-i", inventory, "--", "true"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("chmod 600"))
        #expect(!refused.stderr.contains(user.password))
    }

    @Test func aBrokenInventoryExits64WithFileAndLine() throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let path = fixture.directory + "/bad.yml"
        try "hosts:\n  vm1:\n    adress: 127.0.0.1\n    user: root\n".write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        let result = try runOctoprov(["exec", "-i", path, "--", "true"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("\(path):3:5"))
        #expect(result.stderr.contains("address"))
    }
}

func writeInventory(_ fixture: LiveFixture, _ vms: [LoopbackVM]) throws -> String {
    var yaml = "hosts:\n"
    for vm in vms {
        yaml += """
              \(vm.name):
                address: \(vm.address)
                port: \(vm.port)
                user: \(vm.user)
                identity: \(fixture.clientKey.privateKeyPath)
                known_hosts: \(fixture.knownHostsPath)
                agent: false

            """
    }
    let path = fixture.directory + "/inventory.yml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// `runOctoprov` on a thread of its own, for async tests: the test waits for octoprov without holding one of the
/// few threads of Swift's cooperative pool (two on a 2-core machine), which the other suites' async tests need
/// to keep their own time bounds.
func octoprov(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutput {
    try await offPool { try runOctoprov(arguments, environment: environment) }
}

/// Runs blocking `work` on a thread of its own and waits for it without blocking the cooperative pool.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// This process's environment minus the SSH agent, plus `extra`: what octoprov runs with in these tests.
func octoprovEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "SSH_AUTH_SOCK")
    environment.merge(extra) { _, new in new }
    return environment
}

/// Runs the `octoprov` built next to these tests and collects its output.
func runOctoprov(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessOutput {
    try TestProcess.run(try BuiltProducts.path("octoprov"), arguments, environment: octoprovEnvironment(extra))
}
