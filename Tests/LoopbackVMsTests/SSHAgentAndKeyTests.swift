import Foundation
import LoopbackVMs
import TestHelpers
import Testing

@Suite struct SSHAgentProcessTests {
    /// `ssh` with no `-i`: only the agent can supply the key.
    private func sshThroughAgent(_ vm: LoopbackVM, knownHosts: String, socket: String?) throws -> RunResult {
        var environment = ProcessInfo.processInfo.environment
        environment["SSH_AUTH_SOCK"] = socket
        return try ssh(
            vm,
            knownHosts: knownHosts,
            extraOptions: ["IdentitiesOnly=no", "IdentityFile=none"],
            environment: environment,
            command: "echo agent-ok"
        )
    }

    @Test func agentKeyLogsInWithoutIdentityFile() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key])
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())

            let withoutAgent = try sshThroughAgent(vm, knownHosts: knownHosts, socket: nil)
            #expect(withoutAgent.exitStatus == 255, "logged in without the agent: \(withoutAgent.output)")

            let agent = try sandbox.startAgent()
            try agent.add(key)
            let result = try sshThroughAgent(vm, knownHosts: knownHosts, socket: agent.socketPath)
            #expect(result.exitStatus == 0, "agent login failed: \(result.output)")
            #expect(result.output.contains("agent-ok"))
        }
    }

    @Test func passphraseKeyIsAddedThroughAskpass() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key(.ecdsa, name: "locked", passphrase: "correct horse")
            let vm = try sandbox.startVM(keys: [key])
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())
            let agent = try sandbox.startAgent()

            let wrong = SSHKeyPair(
                type: key.type,
                privateKeyPath: key.privateKeyPath,
                publicKeyPath: key.publicKeyPath,
                publicKeyLine: key.publicKeyLine,
                passphrase: "wrong"
            )
            let error = #expect(throws: LoopbackVMError.self) { try agent.add(wrong) }
            #expect(error?.description.contains("ssh-add") == true)

            try agent.add(key)
            let result = try sshThroughAgent(vm, knownHosts: knownHosts, socket: agent.socketPath)
            #expect(result.exitStatus == 0, "agent login failed: \(result.output)")
        }
    }

    @Test func stopEndsTheAgentAndRemovesItsSocket() throws {
        try withSandbox { sandbox in
            let agent = try sandbox.startAgent()
            let pid = try #require(agent.processIdentifier)
            #expect(isRunningProcess(pid))
            #expect(FileManager.default.fileExists(atPath: agent.socketPath))
            agent.stop()
            agent.stop()
            #expect(processState(pid) == nil)
            #expect(!FileManager.default.fileExists(atPath: agent.socketPath))
            #expect(throws: LoopbackVMError.self) { try agent.add(try sandbox.key()) }
        }
    }
}

@Suite struct SSHKeyPairTests {
    @Test(arguments: [SSHKeyType.ed25519, .ecdsa, .rsa])
    func generatesEveryType(type: SSHKeyType) throws {
        try withSandbox { sandbox in
            let key = try sandbox.key(type, name: "id_\(type.rawValue)")
            let prefixes: [SSHKeyType: String] = [
                .ed25519: "ssh-ed25519 AAAA",
                .ecdsa: "ecdsa-sha2-nistp256 AAAA",
                .rsa: "ssh-rsa AAAA",
            ]
            #expect(key.publicKeyLine.hasPrefix(prefixes[type] ?? "?"))
            #expect(key.publicKeyLine.hasSuffix(" id_\(type.rawValue)@octoprov-test"))
            #expect(key.publicKeyPath == key.privateKeyPath + ".pub")
            #expect(key.passphrase == nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: key.privateKeyPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            if type == .rsa {
                let info = try run("/usr/bin/ssh-keygen", ["-l", "-f", key.publicKeyPath])
                #expect(info.output.hasPrefix("3072 "))
            }
        }
    }

    @Test func refusesToOverwriteAndRejectsBadNames() throws {
        try withSandbox { sandbox in
            _ = try sandbox.key(name: "id")
            #expect(throws: LoopbackVMError.self) { _ = try sandbox.key(name: "id") }
            #expect(throws: LoopbackVMError.self) { _ = try sandbox.key(name: "a/b") }
            #expect(throws: LoopbackVMError.self) { _ = try sandbox.key(name: "") }
        }
    }
}
