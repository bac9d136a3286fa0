import Foundation
import LoopbackVMs
import TestHelpers
import Testing

/// Real sshd "VMs" driven by the real OpenSSH client; no mocks.
@Suite struct LoopbackVMTests {
    @Test func loginWithEd25519KeyAndKnownHosts() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key])
            #expect(vm.isRunning)
            #expect(vm.rootDirectory == (vm.directory as NSString).appendingPathComponent("root"))
            #expect(FileManager.default.fileExists(atPath: vm.rootDirectory))
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())
            #expect(try vm.knownHostsLines().allSatisfy { $0.hasPrefix("[127.0.0.1]:\(vm.port) ssh-ed25519 AAAA") })

            let result = try ssh(
                vm,
                knownHosts: knownHosts,
                identity: key,
                command: "echo hello; echo $OCTOPROV_VM_ROOT; echo $OCTOPROV_VM_NAME"
            )
            #expect(result.exitStatus == 0, "ssh failed: \(result.output)")
            let lines = result.output.split(whereSeparator: \.isNewline).map(String.init)
            #expect(lines == ["hello", vm.rootDirectory, "vm"])
        }
    }

    @Test func hashedKnownHostsLinesWorkWithTheRealClient() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key]) { $0.hostKeyTypes = [.ed25519, .ecdsa] }
            let hashed = try vm.knownHostsLines(hashed: true)
            #expect(hashed.count == 2)
            #expect(hashed.allSatisfy { $0.hasPrefix("|1|") && !$0.contains("127.0.0.1") })
            let knownHosts = try sandbox.knownHosts(hashed)

            let result = try ssh(vm, knownHosts: knownHosts, identity: key, command: "echo hashed-ok")
            #expect(result.exitStatus == 0, "ssh failed: \(result.output)")
            #expect(result.output.contains("hashed-ok"))
        }
    }

    @Test func twoVMsOnDifferentLoopbackAddressesAtOnce() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let first = try sandbox.startVM("first", address: "127.0.0.2", keys: [key])
            let second = try sandbox.startVM("second", address: "127.0.0.3", keys: [key])
            let knownHosts = try sandbox.knownHosts(try first.knownHostsLines() + second.knownHostsLines())

            for (vm, name) in [(first, "first"), (second, "second")] {
                let result = try ssh(vm, knownHosts: knownHosts, identity: key, command: "echo $OCTOPROV_VM_NAME")
                #expect(result.exitStatus == 0, "ssh to \(vm.address) failed: \(result.output)")
                #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == name)
            }
            #expect(first.isRunning && second.isRunning)
        }
    }

    @Test func killConnectionsDropsLiveSessionsButKeepsListening() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key])
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())
            let ready = (vm.rootDirectory as NSString).appendingPathComponent("ready")
            let client = try ChildProcess.launch(
                sshPath,
                sshArguments(vm, knownHosts: knownHosts, identity: key, command: "touch '\(ready)'; sleep 30"),
                outputPath: sandbox.file("client.out")
            )
            defer { client.terminate(grace: 1) }
            #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: ready) }, "session never started")
            let listener = try #require(vm.processIdentifier)
            let sessionProcesses = descendants(of: listener)
            #expect(!sessionProcesses.isEmpty)

            let started = Date()
            #expect(vm.killConnections() >= 1)
            #expect(client.waitForExit(timeout: 5), "the client did not notice the dropped connection")
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(client.exitStatus != 0)
            #expect(sessionProcesses.allSatisfy { !isRunningProcess($0) }, "the session's processes survived")

            #expect(vm.isRunning)
            #expect(vm.processIdentifier == listener)
            let again = try ssh(vm, knownHosts: knownHosts, identity: key, command: "echo again")
            #expect(again.exitStatus == 0, "new connection failed: \(again.output)")
            #expect(again.output.contains("again"))
        }
    }

    @Test func regeneratedHostKeysAreReportedAsChanged() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key])
            let oldKnownHosts = try sandbox.knownHosts(try vm.knownHostsLines(), name: "old_known_hosts")
            let before = try ssh(vm, knownHosts: oldKnownHosts, identity: key, command: "true")
            #expect(before.exitStatus == 0, "ssh failed before the change: \(before.output)")
            let oldLine = vm.hostKeys.first?.publicKeyLine
            let oldPID = vm.processIdentifier

            try vm.regenerateHostKeys()
            #expect(vm.isRunning)
            #expect(vm.processIdentifier != oldPID)
            #expect(vm.hostKeys.first?.publicKeyLine != oldLine)

            let changed = try ssh(vm, knownHosts: oldKnownHosts, identity: key, command: "true")
            #expect(changed.exitStatus == 255)
            #expect(changed.output.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"), "\(changed.output)")

            let newKnownHosts = try sandbox.knownHosts(try vm.knownHostsLines(), name: "new_known_hosts")
            let after = try ssh(vm, knownHosts: newKnownHosts, identity: key, command: "echo same-port")
            #expect(after.exitStatus == 0, "ssh failed with the new host key: \(after.output)")
        }
    }

    @Test(arguments: [false, true])
    func sshRSASignaturesNeedAllowSSHRSA(allow: Bool) throws {
        try withSandbox { sandbox in
            let key = try sandbox.key(.rsa, name: "id_rsa")
            let vm = try sandbox.startVM(keys: [key]) { $0.allowSSHRSA = allow }
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())

            let sha1 = try ssh(
                vm,
                knownHosts: knownHosts,
                identity: key,
                extraOptions: ["PubkeyAcceptedAlgorithms=ssh-rsa"],
                command: "echo rsa-ok"
            )
            if allow {
                #expect(sha1.exitStatus == 0, "ssh-rsa login failed: \(sha1.output)")
                #expect(sha1.output.contains("rsa-ok"))
            } else {
                #expect(sha1.exitStatus == 255)
                #expect(sha1.output.contains("Permission denied"), "\(sha1.output)")
            }
            // rsa-sha2 signatures with the same key work either way.
            let sha2 = try ssh(vm, knownHosts: knownHosts, identity: key, command: "echo rsa-sha2-ok")
            #expect(sha2.exitStatus == 0, "rsa-sha2 login failed: \(sha2.output)")
        }
    }

    @Test func stopLeavesNoProcessBehind() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let vm = try sandbox.startVM(keys: [key])
            let knownHosts = try sandbox.knownHosts(try vm.knownHostsLines())
            let ready = (vm.rootDirectory as NSString).appendingPathComponent("ready")
            let client = try ChildProcess.launch(
                sshPath,
                sshArguments(vm, knownHosts: knownHosts, identity: key, command: "touch '\(ready)'; sleep 30"),
                outputPath: sandbox.file("client.out")
            )
            defer { client.terminate(grace: 1) }
            #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: ready) }, "session never started")
            let listener = try #require(vm.processIdentifier)
            #expect(isRunningProcess(listener))
            let children = descendants(of: listener)
            #expect(!children.isEmpty)

            vm.stop()
            #expect(!vm.isRunning)
            #expect(vm.processIdentifier == nil)
            #expect(processState(listener) == nil, "the sshd listener was not reaped")
            for pid in children {
                #expect(!isRunningProcess(pid), "process \(pid) survived stop()")
            }
            #expect(client.waitForExit(timeout: 5))
            vm.stop()  // idempotent
            #expect(throws: LoopbackVMError.self) { try vm.regenerateHostKeys() }
            #expect(vm.killConnections() == 0)
        }
    }

    @Test func explicitPortAlreadyInUseFailsClearly() throws {
        try withSandbox { sandbox in
            let key = try sandbox.key()
            let first = try sandbox.startVM("first", keys: [key])
            let error = #expect(throws: LoopbackVMError.self) {
                _ = try sandbox.startVM("second", keys: [key]) { $0.port = first.port }
            }
            #expect(error?.description.contains("already in use") == true, "\(String(describing: error))")
            #expect(first.isRunning)
        }
    }

    @Test func invalidExtraConfigIsRejectedBySSHDashT() throws {
        try withSandbox { sandbox in
            let error = #expect(throws: LoopbackVMError.self) {
                _ = try sandbox.startVM(keys: []) { $0.extraConfig = ["NoSuchOption yes"] }
            }
            guard case .invalidSSHDConfig(_, let output)? = error else {
                Issue.record("expected invalidSSHDConfig, got \(String(describing: error))")
                return
            }
            #expect(output.contains("Bad configuration option"))
        }
    }

    @Test func badNamesAddressesAndPortsAreRejectedBeforeStarting() throws {
        try withSandbox { sandbox in
            for name in ["", "../escape", "a b", ".hidden"] {
                #expect(throws: LoopbackVMError.self) { _ = try sandbox.startVM(name, keys: []) }
            }
            for address in ["10.0.0.1", "localhost", "127.0.0", "127.0.0.256", "0.0.0.0"] {
                #expect(throws: LoopbackVMError.self) { _ = try sandbox.startVM(address: address, keys: []) }
            }
            #expect(throws: LoopbackVMError.self) { _ = try sandbox.startVM(keys: []) { $0.port = 70_000 } }
            #expect(throws: LoopbackVMError.self) { _ = try sandbox.startVM(keys: []) { $0.hostKeyTypes = [] } }
        }
    }

    @Test func waitForBannerTimesOutOnAClosedPort() throws {
        let port = try Loopback.freePort(address: "127.0.0.1")
        let started = Date()
        #expect(throws: LoopbackVMError.self) {
            try Loopback.waitForBanner(address: "127.0.0.1", port: port, timeout: 0.3)
        }
        #expect(Date().timeIntervalSince(started) < 3)
    }
}
