import Foundation
import Provisioning
import SSHKit
import Testing

/// `StepCommand` over a real sshd: a step abandoned by its client (octoprov killed, a connection lost, a timeout)
/// keeps running on the host, and the next step waits for it instead of acting beside it.
@Suite("step commands against real sshd", .tags(.large))
struct StepCommandLiveTests {
    /// Writes `body` as a bash script in `folder` and returns its path.
    private func script(_ name: String, _ body: String, in folder: String) throws -> String {
        let path = folder + "/" + name
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aStepWaitsForOneItsClientAbandonedAndItsChildren() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        // The VM shares this machine's file system: its work folder is a folder of the fixture's.
        let work = fixture.directory + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let slow = try script("slow.sh", "sleep 3\necho finished > \"\(work)/slow.done\"\n", in: work)
        let check = try script(
            "check.sh",
            "read -r line\necho \"stdin: $line\"\ncat \"\(work)/slow.done\" 2>/dev/null || echo 'not finished'\nexit 3\n",
            in: work
        )
        func command(_ path: String, lockTimeout: Int = StepCommand.lockTimeout) -> String {
            StepCommand.command(running: path, on: .standin, workDirectory: work, lockTimeout: lockTimeout)
        }
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            // Free: the script runs at once, with its stdin and its exit status.
            let free = try await session.run(command(check), options: ExecOptions(stdin: Array("first\n".utf8)))
            #expect(free.exitStatus == 3)
            #expect(free.stdoutText == "stdin: first\nnot finished\n")
            #expect(free.stderrText.isEmpty, "\(free.stderrText)")
            #expect(FileManager.default.fileExists(atPath: work + "/" + StepCommand.lockFileName))

            // Abandoned after half a second, the slow step goes on; the next one waits until it has finished.
            await #expect(throws: SSHError.self) {
                try await session.run(command(slow), options: ExecOptions(timeout: .milliseconds(500)))
            }
            let waited = try await session.run(command(check), options: ExecOptions(stdin: Array("second\n".utf8)))
            #expect(waited.exitStatus == 3)
            #expect(waited.stdoutText == "stdin: second\nfinished\n", "\(waited.stderrText)")
            #expect(waited.stderrText.contains("Waiting for another octoprov step on this host to end"))

            // A child the step left running holds the lock too.
            let forks = try script(
                "forks.sh",
                "rm -f \"\(work)/slow.done\"\n( sleep 2; echo child > \"\(work)/slow.done\" ) </dev/null >/dev/null 2>&1 &\n",
                in: work
            )
            #expect(try await session.run(command(forks)).exitStatus == 0)
            let afterChild = try await session.run(command(check), options: ExecOptions(stdin: Array("third\n".utf8)))
            #expect(afterChild.stdoutText == "stdin: third\nchild\n", "\(afterChild.stderrText)")

            // Held past the timeout: one sentence and exit status 75; the script did not run.
            await #expect(throws: SSHError.self) {
                try await session.run(command(slow), options: ExecOptions(timeout: .milliseconds(500)))
            }
            let refused = try await session.run(command(check, lockTimeout: 1))
            #expect(refused.exitStatus == 75)
            #expect(refused.stdoutText.isEmpty)
            #expect(
                refused.stderrText.contains(
                    "held \(work)/octoprov-step.lock on this host for 1 second; a run that was killed or lost its "
                        + "connection may have left it running. Wait for it to end, then run again."
                ),
                "\(refused.stderrText)"
            )
        }
    }
}
