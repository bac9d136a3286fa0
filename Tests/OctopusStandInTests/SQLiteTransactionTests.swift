import Foundation
import OctopusStandIn
import Testing

/// Two connections on one database, as `Octopus.Server node --drain` and a running server's heartbeat are: a
/// transaction that reads and then writes must wait for the other writer, as SQL Server would, and never fail
/// with `SQLITE_BUSY` (which a deferred `BEGIN` does as soon as the other connection writes in between).
@Suite struct SQLiteTransactionTests {
    @Test func aReadThenWriteTransactionWaitsForAnotherWriterInsteadOfFailing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-sqlite-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/db.sqlite"
        let setup = try SQLiteDatabase(path: path, create: true)
        try setup.run("CREATE TABLE Node (Id TEXT PRIMARY KEY, Beats INTEGER NOT NULL)")
        try setup.run("INSERT INTO Node VALUES ('a', 0), ('b', 0)")

        let rounds = 200
        let failures = Failures()
        let done = DispatchGroup()
        // The "server": a heartbeat that writes as fast as it can.
        DispatchQueue.global().async(group: done) {
            do {
                let heartbeat = try SQLiteDatabase(path: path)
                for _ in 0..<rounds { try heartbeat.run("UPDATE Node SET Beats = Beats + 1 WHERE Id = 'b'") }
            } catch {
                failures.add("heartbeat: \(error)")
            }
        }
        // The "CLI": reads, then writes what it read, in one transaction.
        DispatchQueue.global().async(group: done) {
            do {
                let cli = try SQLiteDatabase(path: path)
                for _ in 0..<rounds {
                    try cli.withTransaction {
                        let beats =
                            try cli.query("SELECT Beats FROM Node WHERE Id = 'a'").rows.first?.first?.integer ?? 0
                        usleep(2_000)
                        try cli.run("UPDATE Node SET Beats = ? WHERE Id = 'a'", [.integer(beats + 1)])
                    }
                }
            } catch {
                failures.add("read-then-write transaction: \(error)")
            }
        }
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(failures.all.isEmpty, "\(failures.all)")
        let counts = try setup.query("SELECT Id, Beats FROM Node ORDER BY Id").rows.map { $0[1].integer ?? -1 }
        #expect(counts == [Int64(rounds), Int64(rounds)])
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ text: String) { lock.withLock { list.append(text) } }
        var all: [String] { lock.withLock { list } }
    }
}
