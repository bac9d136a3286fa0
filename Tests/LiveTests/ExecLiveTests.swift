import Foundation
import LoopbackVMs
import SSHKit
import Synchronization
import TestHelpers
import Testing

/// Remote commands against a real OpenSSH sshd on loopback.
@Suite("exec against real sshd", .tags(.large))
struct ExecLiveTests {
    @Test func exitCodesAndSeparateStreams() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            for code in [0, 1, 42] {
                let result = try await session.run("echo to-out; echo to-err >&2; exit \(code)")
                #expect(result.exitStatus == Int32(code))
                #expect(result.succeeded == (code == 0))
                #expect(result.stdoutText == "to-out\n")
                #expect(result.stderrText == "to-err\n")
            }
            let killed = try await session.run("kill -KILL $$")
            #expect(killed.exitSignal == "KILL")
            #expect(killed.exitStatus == nil)
        }
    }

    @Test func hundredMegabytesOfOutputOnBothStreamsDoNotDeadlock() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let seen = Mutex((out: 0, err: 0))
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            // Interleaved large writes on both streams: a client draining only one would stall the other.
            let result = try await session.run(
                "for i in 1 2 3 4 5; do head -c 10000000 /dev/zero; head -c 10000000 /dev/zero >&2; done; "
                    + "head -c 50000000 /dev/zero",
                options: ExecOptions(timeout: .seconds(120), collectOutput: false) { stream, chunk in
                    seen.withLock { if stream == .stdout { $0.out += chunk.count } else { $0.err += chunk.count } }
                }
            )
            #expect(result.exitStatus == 0)
            #expect(result.stdoutByteCount == 100_000_000)
            #expect(result.stderrByteCount == 50_000_000)
            #expect(result.stdout.isEmpty)
        }
        #expect(seen.withLock { $0.out } == 100_000_000)
        #expect(seen.withLock { $0.err } == 50_000_000)
    }

    @Test func standardInputReachesTheCommand() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let input = Array((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            let result = try await session.run("sha256sum", options: ExecOptions(stdin: input))
            let expected = try await session.run("printf ok")
            #expect(expected.stdoutText == "ok")
            let local = try await localSHA256(input)
            #expect(result.stdoutText.hasPrefix(local))
            let empty = try await session.run("cat | wc -c")
            #expect(empty.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
    }

    @Test func aCommandPastItsTimeoutIsAbandonedAndTheSessionStaysUsable() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            let clock = ContinuousClock()
            let started = clock.now
            let error = await #expect(throws: SSHError.self) {
                try await session.run("sleep 30", options: ExecOptions(timeout: .milliseconds(500)))
            }
            #expect(error?.code == .timedOut)
            #expect(error?.message.contains("vm1") == true)
            // Well before the command's 30 s, with room for a machine busy with other suites.
            #expect(started.duration(to: clock.now) < .seconds(15))
            let after = try await session.run("echo alive")
            #expect(after.stdoutText == "alive\n")
        }
    }

    @Test func utf8OutputCutAcrossNetworkChunksIsDecodedWhole() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        // 200,000 four-byte characters per line: chunk boundaries land inside characters many times.
        let lines = Mutex([String]())
        let splitter = Mutex(LineSplitter())
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            let result = try await session.run(
                "python3 -c \"import sys; sys.stdout.write(('🐙' * 200000 + '\\n') * 3)\"",
                options: ExecOptions(collectOutput: false) { stream, chunk in
                    guard stream == .stdout else { return }
                    let done = splitter.withLock { $0.feed(chunk) }
                    lines.withLock { $0.append(contentsOf: done) }
                }
            )
            #expect(result.exitStatus == 0)
        }
        let received = lines.withLock { $0 }
        #expect(received.count == 3)
        #expect(received.allSatisfy { $0 == String(repeating: "🐙", count: 200_000) })
    }

    @Test func threeVMsInParallel() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vms = try (1...3).map { try fixture.startVM("vm\($0)", address: "127.0.0.\($0 + 1)") }
        // A barrier: each command marks itself in a folder all three VMs see (they share this machine),
        // then waits until all three marks exist. Commands run one after another never all get there;
        // commands running in parallel always do, however loaded the machine.
        let barrier = fixture.directory + "/barrier"
        try FileManager.default.createDirectory(atPath: barrier, withIntermediateDirectories: true)
        let script =
            "touch \(barrier)/$OCTOPROV_VM_NAME; for i in $(seq 300); do "
            + "[ $(ls \(barrier) | wc -l) -ge 3 ] && echo together $OCTOPROV_VM_NAME && exit 0; sleep 0.1; done; "
            + "echo alone; exit 1"
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for vm in vms {
                let configuration = fixture.configuration(for: vm)
                group.addTask {
                    try await SSHSession.withConnection(configuration) { session in
                        try await session.run(script).stdoutText
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(outputs) == ["together vm1\n", "together vm2\n", "together vm3\n"])
    }

    /// Keepalives keep a silent command alive past the idle limit (the server's replies are activity);
    /// a host that stops answering altogether is declared lost after the idle limit.
    @Test func keepalivesKeepSilentCommandsAliveAndAFrozenHostIsDetected() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        // libssh2 schedules keepalives in whole seconds, so with a 1 s interval replies can be ~2 s
        // apart; a 5 s idle limit leaves room for a loaded machine.
        var configuration = fixture.configuration(for: vm, idleTimeout: .seconds(5))
        configuration.keepaliveInterval = .seconds(1)
        try await SSHSession.withConnection(configuration) { session in
            // A pause between operations longer than the idle limit is not the host's silence.
            try await Task.sleep(for: .seconds(6))
            let silent = try await session.run("sleep 7; echo done")
            #expect(silent.stdoutText == "done\n")

            let frozen = Task { try await session.run("sleep 30") }
            try await Task.sleep(for: .milliseconds(500))
            #expect(vm.signalConnections(SIGSTOP) > 0)
            defer { vm.signalConnections(SIGCONT) }
            let error = await #expect(throws: SSHError.self) { try await frozen.value }
            #expect(error?.code == .disconnected)
            #expect(error?.message.contains("stopped answering") == true)
        }
    }

    @Test func cancellingTheTaskInterruptsARunningCommand() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let session = try await SSHSession.connect(fixture.configuration(for: vm))
        let task = Task { try await session.run("sleep 30") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = await #expect(throws: SSHError.self) { try await task.value }
        #expect(error?.code == .cancelled)
        await session.close()
    }
}

func localSHA256(_ bytes: [UInt8]) async throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-\(UUID().uuidString)").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try ChildProcess.run("/usr/bin/sha256sum", [path])
    return result.output.split(separator: " ").first.map(String.init) ?? ""
}
