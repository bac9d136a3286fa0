import Foundation
import Provisioning
import SSHKit
import TestHelpers
import Testing

/// `StepCommand` over a real sshd: a step abandoned by its client (octoprov killed, a connection lost, a timeout)
/// keeps running on the host, and the next step waits for it instead of acting beside it.
///
/// Nothing here depends on timing: an abandoned step holds on until the test creates its `release` file, and the
/// test creates it only once the waiting step has said that it waits.
@Suite("step commands against real sshd", .tags(.large))
struct StepCommandLiveTests {
    /// The VM's work folder (the VM shares this machine's file system) and its scripts.
    struct Work {
        let folder: String

        /// Writes `body` as a bash script and returns its path.
        func script(_ name: String, _ body: String) throws -> String {
            let path = folder + "/" + name
            try body.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func file(_ name: String) -> String { folder + "/" + name }

        func create(_ name: String) {
            _ = FileManager.default.createFile(atPath: file(name), contents: Data())
        }

        /// Waits (up to a minute) until the file `name` exists.
        func waitFor(_ name: String) async throws {
            var tries = 0
            while !FileManager.default.fileExists(atPath: file(name)) && tries < 600 {
                try await Task.sleep(for: .milliseconds(100))
                tries += 1
            }
            try #require(FileManager.default.fileExists(atPath: file(name)), "\(name) never appeared")
        }

        /// A script that says it started (`<tag>.started`), waits for `<tag>.release`, then writes `<tag>` into
        /// `result`; with `background`, it leaves that work to a child and exits at once.
        func holder(_ tag: String, background: Bool = false) throws -> String {
            let work = """
                touch \(file("\(tag).started"))
                while [ ! -e \(file("\(tag).release")) ]; do sleep 0.05; done
                echo \(tag) > \(file("result"))
                """
            let body =
                background
                ? "( \(work.replacingOccurrences(of: "\n", with: "; ")) ) </dev/null >/dev/null 2>&1 &\n" : work + "\n"
            return try script("\(tag).sh", body)
        }
    }

    @Test func aStepWaitsForOneItsClientAbandonedAndForItsChildren() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let work = Work(folder: fixture.directory + "/work")
        try FileManager.default.createDirectory(atPath: work.folder, withIntermediateDirectories: true)
        let check = try work.script(
            "check.sh",
            "read -r line\necho \"stdin: $line\"\ncat \(work.file("result")) 2>/dev/null || echo 'no result'\nexit 3\n"
        )
        func command(_ path: String, lockTimeout: Int = StepCommand.lockTimeout) -> String {
            StepCommand.command(running: path, on: .standin, workDirectory: work.folder, lockTimeout: lockTimeout)
        }
        /// Runs `check` with `input`; once it says it waits, creates `release`.
        func checkReleasing(_ release: String?, input: String) async throws -> CommandResult {
            try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
                try await session.run(
                    command(check),
                    options: ExecOptions(stdin: Array(input.utf8)) { stream, chunk in
                        let text = String(decoding: chunk, as: UTF8.self)
                        if stream == .stderr, text.contains("Waiting for another octoprov step"), let release {
                            work.create(release)
                        }
                    }
                )
            }
        }

        // Free: the script runs at once, with its stdin and its exit status, and nothing is said.
        let free = try await checkReleasing(nil, input: "first\n")
        #expect(free.exitStatus == 3)
        #expect(free.stdoutText == "stdin: first\nno result\n")
        #expect(free.stderrText.isEmpty, "\(free.stderrText)")
        #expect(FileManager.default.fileExists(atPath: work.file(StepCommand.lockFileName)))

        // A step whose client gave up goes on; the next one says it waits, and runs once that one has finished.
        let abandoned = try work.holder("abandoned")
        _ = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            await #expect(throws: SSHError.self) {
                try await session.run(command(abandoned), options: ExecOptions(timeout: .seconds(1)))
            }
        }
        try await work.waitFor("abandoned.started")
        let waited = try await checkReleasing("abandoned.release", input: "second\n")
        #expect(waited.exitStatus == 3)
        #expect(waited.stdoutText == "stdin: second\nabandoned\n", "\(waited.stderrText)")
        #expect(waited.stderrText.contains("Waiting for another octoprov step on this host to end"))

        // A child the step left running holds the lock too.
        let forks = try work.holder("child", background: true)
        let forked = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.run(command(forks))
        }
        #expect(forked.exitStatus == 0, "\(forked.stderrText)")
        try await work.waitFor("child.started")
        let afterChild = try await checkReleasing("child.release", input: "third\n")
        #expect(afterChild.stdoutText == "stdin: third\nchild\n", "\(afterChild.stderrText)")

        // Held past the timeout: one sentence and exit status 75, and the script did not run.
        let stuck = try work.holder("stuck")
        _ = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            await #expect(throws: SSHError.self) {
                try await session.run(command(stuck), options: ExecOptions(timeout: .seconds(1)))
            }
        }
        try await work.waitFor("stuck.started")
        let refused = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.run(command(check, lockTimeout: 1))
        }
        work.create("stuck.release")
        #expect(refused.exitStatus == 75)
        #expect(refused.stdoutText.isEmpty)
        #expect(
            refused.stderrText.contains(
                "held \(work.file(StepCommand.lockFileName)) on this host for 1 second; a run that was killed or "
                    + "lost its connection may have left it running. Wait for it to end, then run again."
            ),
            "\(refused.stderrText)"
        )
    }
}
