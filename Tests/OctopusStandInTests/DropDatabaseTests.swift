import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// `DROP DATABASE` as `octoprov rebuild` tears a clone down with it: SQL Server's forms, its refusals, and
/// the refusal while a stand-in server runs on the database (in this process and in a service process).
@Suite(.tags(.small))
struct DropDatabaseTests {
    static let inUse = "Cannot drop database \"OctopusDeploy\" because it is currently in use."

    /// Runs one batch on a new connection; returns the printed lines or the error.
    static func run(
        _ batch: String,
        in dataFolder: DataFolder,
        database: String = "master"
    ) throws -> Result<[String], TSQLError> {
        let session = try TSQLSession(dataFolder: dataFolder, server: "localhost", database: database)
        var lines: [String] = []
        do {
            try session.execute(batch: batch) { lines.append($0) }
            return .success(lines)
        } catch {
            return .failure(error)
        }
    }

    @Test func dropRemovesTheDatabaseAndItsFiles() throws {
        let fixture = try StandInFixture()
        let path = fixture.dataFolder.databasePath(server: "localhost", database: "OctopusDeploy")
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try Self.run("DROP DATABASE [OctopusDeploy]", in: fixture.dataFolder).get() == [])
        #expect(!fixture.dataFolder.databaseExists(server: "localhost", database: "OctopusDeploy"))
        let left = try FileManager.default.contentsOfDirectory(atPath: fixture.dataFolder.serverFolder("localhost"))
        #expect(!left.contains { $0.hasPrefix("octopusdeploy.") }, "\(left)")
        let listed = try Self.run("SET NOCOUNT ON SELECT name FROM sys.databases", in: fixture.dataFolder).get()
        #expect(!listed.contains { $0.contains("OctopusDeploy") || $0.contains("octopusdeploy") })

        guard case .failure(let error) = try Self.run("DROP DATABASE OctopusDeploy", in: fixture.dataFolder) else {
            Issue.record("dropping a missing database must fail")
            return
        }
        #expect(error.number == 3701 && error.level == 11 && error.code == .unknownDatabase)
        #expect(
            error.message
                == "Cannot drop the database 'OctopusDeploy', because it does not exist or you do not have permission."
        )
        #expect(try Self.run("DROP DATABASE IF EXISTS [OctopusDeploy]", in: fixture.dataFolder).get() == [])
    }

    @Test func theGuardedFormsDropOnlyWhatExists() throws {
        let fixture = try StandInFixture()
        let guarded = "IF DB_ID(N'OctopusDeploy') IS NOT NULL DROP DATABASE [OctopusDeploy]"
        #expect(try Self.run(guarded, in: fixture.dataFolder).get() == [])
        #expect(!fixture.dataFolder.databaseExists(server: "localhost", database: "OctopusDeploy"))
        #expect(try Self.run(guarded, in: fixture.dataFolder).get() == [], "nothing left to drop: no error")
        #expect(
            try Self.run("IF DB_ID(N'OctopusDeploy') IS NULL PRINT 'gone'", in: fixture.dataFolder).get() == ["gone"]
        )
        #expect(try Self.run("IF DB_ID('master') IS NULL PRINT 'no master'", in: fixture.dataFolder).get() == [])

        let other = try StandInFixture()
        let viaSysDatabases =
            "IF EXISTS (SELECT name FROM sys.databases WHERE name = N'OctopusDeploy')\n    DROP DATABASE [OctopusDeploy]"
        #expect(try Self.run(viaSysDatabases, in: other.dataFolder).get() == [])
        #expect(!other.dataFolder.databaseExists(server: "localhost", database: "OctopusDeploy"))
    }

    @Test(arguments: [
        ("DROP DATABASE [master]", 3708, "Cannot drop the database 'master' because it is a system database."),
        ("BEGIN TRANSACTION\nDROP DATABASE [OctopusDeploy]", 226, "not allowed within multi-statement transaction"),
        ("DROP TABLE Machine", TSQLError.unsupportedNumber, "only DROP DATABASE is"),
        ("DROP DATABASE [a/b]", TSQLError.unsupportedNumber, "not supported by the stand-in"),
    ])
    func refusals(batch: String, number: Int, text: String) throws {
        let fixture = try StandInFixture()
        guard case .failure(let error) = try Self.run(batch, in: fixture.dataFolder) else {
            Issue.record("\(batch) must fail")
            return
        }
        #expect(error.number == number, "\(error.message)")
        #expect(error.message.contains(text), "\(error.message)")
        #expect(fixture.dataFolder.databaseExists(server: "localhost", database: "OctopusDeploy"))
    }

    @Test func theConnectionsOwnDatabaseIsInUse() throws {
        let fixture = try StandInFixture()
        let result = try Self.run("DROP DATABASE [OctopusDeploy]", in: fixture.dataFolder, database: "OctopusDeploy")
        guard case .failure(let error) = result else {
            Issue.record("dropping the current database must fail")
            return
        }
        #expect(error.number == 3702 && error.state == 4 && error.code == .databaseInUse)
        #expect(error.message == Self.inUse)
        #expect(
            try Self.run("USE master\nDROP DATABASE [OctopusDeploy]", in: fixture.dataFolder, database: "OctopusDeploy")
                .get() == ["Changed database context to 'master'."]
        )
    }

    @Test(.tags(.medium)) func aDatabaseARunningServerServesCannotBeDropped() throws {
        let fixture = try APIFixture()
        try fixture.start()
        #expect(DatabaseUse.isInUse(databasePath: fixture.databasePath))
        guard case .failure(let error) = try Self.run("DROP DATABASE [OctopusDeploy]", in: fixture.dataFolder) else {
            Issue.record("dropping a served database must fail")
            return
        }
        #expect(error.number == 3702 && error.message == Self.inUse)
        #expect(fixture.dataFolder.databaseExists(server: "localhost", database: "OctopusDeploy"))
        fixture.stop()
        #expect(!DatabaseUse.isInUse(databasePath: fixture.databasePath))
        #expect(try Self.run("DROP DATABASE [OctopusDeploy]", in: fixture.dataFolder).get() == [])
        #expect(!FileManager.default.fileExists(atPath: DatabaseUse.markerPath(databasePath: fixture.databasePath)))
    }

    @Test(.tags(.medium)) func aServiceHoldsItsDatabaseUntilItStops() throws {
        let machine = try StandInMachine()
        try machine.provision(version: OctopusServerCLITests.current, port: try StandInMachine.freePort())
        try machine.whileServing(OctopusServerCLITests.current) {
            let dropped = try machine.sqlcmd(["-S", "(local)", "-b", "-Q", "DROP DATABASE [Octopus]"])
            #expect(dropped.status == 1)
            #expect(dropped.all.contains("Msg 3702, Level 16, State 4"), "\(dropped.all)")
            #expect(dropped.all.contains("Cannot drop database \"Octopus\" because it is currently in use."))
            // Nor can it be overwritten by a restore: SQL Server wants exclusive access (Msg 3101).
            let bak = machine.root + "/served.bak"
            let backedUp = try machine.sqlcmd([
                "-S", "(local)", "-b", "-Q", "BACKUP DATABASE [Octopus] TO DISK = N'\(bak)'",
            ])
            #expect(backedUp.status == 0, "\(backedUp.all)")
            let restored = try machine.sqlcmd([
                "-S", "(local)", "-b", "-Q", "RESTORE DATABASE [Octopus] FROM DISK = N'\(bak)' WITH REPLACE",
            ])
            #expect(restored.status == 1)
            #expect(restored.all.contains("Msg 3101, Level 16"), "\(restored.all)")
            #expect(restored.all.contains("Exclusive access could not be obtained because the database is in use."))
            let deleted = try machine.server(OctopusServerCLITests.current, ["database", "--delete"])
            #expect(deleted.status == 100)
            #expect(deleted.stderr.contains("currently in use") && deleted.stderr.contains("service"), "\(deleted.all)")
            #expect(machine.dataFolder.databaseExists(server: "localhost", database: "Octopus"))
        }
        let dropped = try machine.sqlcmd(["-S", "(local)", "-b", "-Q", "DROP DATABASE [Octopus]"])
        #expect(dropped.status == 0, "\(dropped.all)")
        #expect(!machine.dataFolder.databaseExists(server: "localhost", database: "Octopus"))
    }
}
