import Foundation
import LoopbackVMs
import TestHelpers
import Testing

@Suite struct StandardInputTests {
    /// Runs `/bin/sh -c script` with `input` as its standard input (``StandardInput/file(_:)``, through the test
    /// process runner); returns its status and stdout.
    private func shell(_ script: String, input: Data) throws -> (status: Int32, stdout: String) {
        let run = try TestProcess.run("/bin/sh", ["-c", script], input: input)
        return (run.status, run.stdout)
    }

    @Test func theChildReadsExactlyTheBytesGiven() throws {
        // More than a pipe's 64 KiB buffer, with a NUL and no final newline.
        let input = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let run = try shell("od -An -v -tx1 | tr -d ' \\n' | wc -c", input: input)
        #expect(run.status == 0)
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(input.count * 2))
    }

    /// The case that ended a whole test process with SIGPIPE when stdin was a pipe written after the spawn: a
    /// script that refuses at once, before reading anything. Here the process survives and sees its status.
    @Test func aChildThatExitsWithoutReadingLeavesThisProcessStanding() throws {
        for _ in 0..<20 {
            let run = try shell("exit 3", input: Data("MASTER_KEY=c2VjcmV0\n".utf8))
            #expect(run.status == 3)
        }
    }
}
