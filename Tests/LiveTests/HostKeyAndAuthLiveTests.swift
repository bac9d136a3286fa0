import Foundation
import LoopbackVMs
import SSHKit
import TestHelpers
import Testing

@Suite("host keys and authentication against real sshd", .tags(.large))
struct HostKeyAndAuthLiveTests {
    @Test func unknownHostIsRefusedUnderStrictWithItsFingerprint() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM(trusted: false)
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(fixture.configuration(for: vm)) { _ in }
        }
        #expect(error?.code == .unknownHostKey)
        let fingerprint = try #require(
            try HostKey(openSSHLine: vm.hostKeys[0].publicKeyLine).fingerprintSHA256 as String?
        )
        for part in ["vm1", "127.0.0.1:\(vm.port)", fingerprint, "accept-new"] {
            #expect(error?.message.contains(part) == true, "message lacks \(part)")
        }
    }

    @Test func acceptNewTrustsOnFirstUseThenStrictAccepts() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM(trusted: false)
        try await SSHSession.withConnection(fixture.configuration(for: vm, policy: .acceptNew)) { session in
            let result = try await session.run("true")
            #expect(result.succeeded)
        }
        let recorded = try String(contentsOfFile: fixture.knownHostsPath, encoding: .utf8)
        #expect(recorded.split(separator: "\n").count == 1)
        #expect(recorded.hasPrefix("[127.0.0.1]:\(vm.port) ssh-ed25519 "))
        try await SSHSession.withConnection(fixture.configuration(for: vm, policy: .strict)) { session in
            let result = try await session.run("true")
            #expect(result.succeeded)
        }
    }

    @Test(arguments: HostKeyPolicy.allCases)
    func changedHostKeyIsRefusedUnderEveryPolicy(policy: HostKeyPolicy) async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let before = try String(contentsOfFile: fixture.knownHostsPath, encoding: .utf8)
        try vm.regenerateHostKeys()
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(fixture.configuration(for: vm, policy: policy)) { _ in }
        }
        #expect(error?.code == .changedHostKey)
        #expect(error?.message.contains("ssh-keygen -R") == true)
        #expect(try String(contentsOfFile: fixture.knownHostsPath, encoding: .utf8) == before)
    }

    @Test func hashedKnownHostsEntriesAreHonoured() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM(trusted: false)
        try (try vm.knownHostsLines(hashed: true).joined(separator: "\n") + "\n")
            .write(toFile: fixture.knownHostsPath, atomically: true, encoding: .utf8)
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            let result = try await session.run("true")
            #expect(result.succeeded)
        }
    }

    @Test func aKeyTheServerDoesNotKnowIsRefused() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let stranger = try SSHKeyPair.generate(.ed25519, in: fixture.directory, name: "stranger")
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(
                fixture.configuration(
                    for: vm,
                    authentication: [.privateKey(path: stranger.privateKeyPath, passphrase: nil)]
                )
            ) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains(stranger.privateKeyPath) == true)
    }

    @Test func passphraseProtectedKey() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let locked = try SSHKeyPair.generate(
            .ed25519,
            in: fixture.directory,
            name: "locked",
            passphrase: "s3cret 'pass' $x"
        )
        let vm = try fixture.startVM(extraKeys: [locked])
        let right = fixture.configuration(
            for: vm,
            authentication: [.privateKey(path: locked.privateKeyPath, passphrase: .value("s3cret 'pass' $x"))]
        )
        try await SSHSession.withConnection(right) { session in
            let result = try await session.run("true")
            #expect(result.succeeded)
        }
        let missing = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(
                fixture.configuration(
                    for: vm,
                    authentication: [.privateKey(path: locked.privateKeyPath, passphrase: nil)]
                )
            ) { _ in }
        }
        #expect(missing?.code == .credentialUnreadable)
        #expect(missing?.message.contains("identity_passphrase") == true)
        let wrong = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(
                fixture.configuration(
                    for: vm,
                    authentication: [.privateKey(path: locked.privateKeyPath, passphrase: .value("nope"))]
                )
            ) { _ in }
        }
        #expect(wrong?.code == .credentialUnreadable)
        #expect(wrong?.message.contains("nope") == false)
    }

    @Test func passwordAuthentication() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let user = try SystemUser.create(in: fixture.directory)
        defer { user.remove() }
        let vm = try fixture.startVM { $0.allowPasswordAuthentication = true }
        var configuration = fixture.configuration(for: vm, authentication: [.password(.value(user.password))])
        configuration.user = user.name
        try await SSHSession.withConnection(configuration) { session in
            let whoami = try await session.run("id -un")
            #expect(whoami.stdoutText == "\(user.name)\n")
        }
        configuration.authentication = [.password(.value("not-" + user.password))]
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(configuration) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains(user.password) == false)
    }

    @Test func agentAuthentication() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let agentKey = try SSHKeyPair.generate(.ecdsa, in: fixture.directory, name: "agent_ecdsa")
        let vm = try fixture.startVM(extraKeys: [agentKey])
        let agent = try SSHAgentProcess.start(in: fixture.directory)
        defer { agent.stop() }
        try agent.add(agentKey)
        try await SSHSession.withConnection(
            fixture.configuration(for: vm, authentication: [.agent(socketPath: agent.socketPath)])
        ) { session in
            let result = try await session.run("true")
            #expect(result.succeeded)
        }
    }

    /// Debian's libssh2 1.10 signs with RSA keys only as ssh-rsa (SHA-1), which OpenSSH 8.8+ refuses by
    /// default: the refusal is named in one sentence, and a server that allows ssh-rsa lets the key in.
    @Test(arguments: [false, true])
    func rsaKeyAgainstServerThatRefusesOrAllowsSSHRSA(allowSSHRSA: Bool) async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let rsa = try SSHKeyPair.generate(.rsa, in: fixture.directory, name: "client_rsa")
        let vm = try fixture.startVM(extraKeys: [rsa]) { $0.allowSSHRSA = allowSSHRSA }
        let configuration = fixture.configuration(
            for: vm,
            authentication: [.privateKey(path: rsa.privateKeyPath, passphrase: nil)]
        )
        if allowSSHRSA {
            try await SSHSession.withConnection(configuration) { session in
                let result = try await session.run("true")
                #expect(result.succeeded)
            }
        } else {
            let error = await #expect(throws: SSHError.self) {
                try await SSHSession.withConnection(configuration) { _ in }
            }
            #expect(error?.code == .rsaSHA1Refused)
            for part in ["ssh-rsa", "ed25519", "PubkeyAcceptedAlgorithms +ssh-rsa", rsa.privateKeyPath] {
                #expect(error?.message.contains(part) == true, "message lacks \(part)")
            }
        }
    }

    @Test func connectionRefusedNamesTheHost() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        vm.stop()
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(fixture.configuration(for: vm)) { _ in }
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("vm1 (127.0.0.1:\(vm.port))") == true)
    }
}
