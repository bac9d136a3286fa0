import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// BACKUP DATABASE and RESTORE through the built binary's sqlcmd, with real `.bak` files.
@Suite(.tags(.medium))
struct BackupRestoreTests {
    static let version = "2023.3.13026"

    /// A "production" database of 2023.3.13026 with enabled targets, workers, triggers, subscriptions and
    /// two nodes, and a backup of it at `<root>/backups/OctopusDeploy.bak`.
    static func production(_ machine: borrowing StandInMachine) throws -> String {
        let database = try OctopusDatabase.create(
            in: machine.dataFolder,
            server: "localhost",
            database: "OctopusDeploy",
            version: try #require(StandInVersion(version)),
            masterKey: .generate()
        )
        for statement in [
            "INSERT INTO OctopusServerNode (Id, Name) VALUES ('OctopusServerNodes-1', 'PROD1'), "
                + "('OctopusServerNodes-2', 'PROD2')",
            "INSERT INTO OctopusServerNodeStatus (Id) VALUES ('OctopusServerNodes-1'), ('OctopusServerNodes-2')",
            "INSERT INTO Machine (Id, Name, SpaceId) VALUES ('Machines-1', 'web1', 'Spaces-1'), "
                + "('Machines-2', 'web2', 'Spaces-1'), ('Machines-3', 'db1', 'Spaces-1')",
            "INSERT INTO Worker (Id, Name, SpaceId) VALUES ('Workers-1', 'w1', 'Spaces-1')",
            "INSERT INTO ProjectTrigger (Id, Name, SpaceId) VALUES ('ProjectTriggers-1', 'nightly', 'Spaces-1')",
            "INSERT INTO Subscription (Id, Name, SpaceId) VALUES ('Subscriptions-1', 'hook', 'Spaces-1')",
            "INSERT INTO ExtensionConfiguration (Id) VALUES ('authentication-octopusid'), ('jira-integration'), "
                + "('other')",
        ] {
            try database.run(statement)
        }
        let folder = "\(machine.root)/backups"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bak = "\(folder)/OctopusDeploy.bak"
        let run = try machine.sqlcmd([
            "-S", "localhost", "-E", "-b", "-Q", "BACKUP DATABASE [OctopusDeploy] TO DISK = N'\(bak)' WITH FORMAT",
        ])
        #expect(run.status == 0, "\(run.all)")
        #expect(run.stdout.contains("BACKUP DATABASE successfully processed"))
        return bak
    }

    /// The data folder for restored files (exists, as SQL Server's DATA folder does).
    static func dataDirectory(_ machine: borrowing StandInMachine) throws -> String {
        let folder = "\(machine.root)/mssql-data"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func restoreSQL(_ database: String, from bak: String, into folder: String, extra: String = "") -> String {
        """
        USE [master]
        RESTORE DATABASE [\(database)]
            FROM  DISK = N'\(bak)' WITH  FILE = 1,
                MOVE N'OctopusDeploy' TO  N'\(folder)/\(database).mdf',
                MOVE N'OctopusDeploy_log' TO N'\(folder)/\(database)_log.ldf',\(extra)
            NOUNLOAD,
            STATS = 5
        GO
        """
    }

    @Test func restoreAsANewDatabaseThenTheDocsDisableSQL() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let header = try machine.sqlcmd(["-b", "-Q", "RESTORE HEADERONLY FROM DISK = N'\(bak)'"])
        #expect(header.status == 0, "\(header.all)")
        let lines = header.stdout.split(separator: "\n").map(String.init)
        let columns = try #require(lines.first).split(separator: " ").map(String.init)
        #expect(columns.prefix(3) == ["BackupName", "BackupDescription", "BackupType"])
        #expect(columns.suffix(2) == ["OctopusVersion", "OctopusSchemaVersion"])
        let row = lines[2].split(separator: " ").map(String.init)
        #expect(row.contains("OctopusDeploy") && row.suffix(2) == [Self.version, Self.version], "\(row)")
        #expect(header.stdout.contains("(1 row affected)"))

        let files = try machine.sqlcmd(["-b", "-Q", "RESTORE FILELISTONLY FROM DISK = N'\(bak)'"])
        #expect(files.status == 0, "\(files.all)")
        let rows = files.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows[0].prefix(4) == ["LogicalName", "PhysicalName", "Type", "FileGroupName"])
        #expect(rows[2].first == "OctopusDeploy" && rows[2][2] == "D" && rows[2][3] == "PRIMARY")
        #expect(rows[3].first == "OctopusDeploy_log" && rows[3][2] == "L" && rows[3][3] == "NULL")

        let folder = try Self.dataDirectory(machine)
        let script = try writeScript(
            Self.restoreSQL("OctopusClone", from: bak, into: folder),
            named: "restore.sql",
            in: machine.root
        )
        let restore = try machine.sqlcmd(["-S", "localhost", "-E", "-b", "-i", script])
        #expect(restore.status == 0, "\(restore.all)")
        #expect(restore.stdout.contains("100 percent processed."))
        #expect(restore.stdout.contains("file 'OctopusDeploy' on file 1."))
        #expect(restore.stdout.contains("RESTORE DATABASE successfully processed"))
        let restoredFiles = machine.dataFolder.databaseFiles(server: "localhost", database: "OctopusClone")
        #expect(restoredFiles.data == .init(logicalName: "OctopusDeploy", physicalName: "\(folder)/OctopusClone.mdf"))

        // "Remember to replace OctopusDeploy with the name of your database."
        let verbatim = try String(contentsOfFile: fixturePath("disable-everything.sql"), encoding: .utf8)
        let disable = try writeScript(
            verbatim.replacingOccurrences(of: "Use [OctopusDeploy]", with: "Use [OctopusClone]"),
            named: "disable.sql",
            in: machine.root
        )
        let quarantine = try machine.sqlcmd(["-S", "localhost", "-E", "-b", "-i", disable])
        #expect(quarantine.status == 0, "\(quarantine.all)")
        #expect(try machine.column("OctopusClone", "SELECT Id FROM OctopusServerNode").isEmpty)
        #expect(try machine.column("OctopusClone", "SELECT Id FROM OctopusServerNodeStatus").isEmpty)
        for table in ["Machine", "Worker", "ProjectTrigger", "Subscription"] {
            let clone = try machine.column("OctopusClone", "SELECT IsDisabled FROM \(table)")
            #expect(!clone.isEmpty && clone.allSatisfy { $0 == "1" }, "\(table)")
            let production = try machine.column("OctopusDeploy", "SELECT IsDisabled FROM \(table)")
            #expect(production.allSatisfy { $0 == "0" }, "production's \(table) is untouched")
        }
        #expect(try machine.column("OctopusClone", "SELECT Id FROM ExtensionConfiguration") == ["other"])
        #expect(try machine.column("OctopusDeploy", "SELECT COUNT(*) FROM OctopusServerNode") == ["2"])
    }

    @Test func restoreToANewNameNeedsMoveWhileTheOriginalFilesAreInUse() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let run = try machine.sqlcmd(["-b", "-Q", "RESTORE DATABASE [Copy] FROM DISK = N'\(bak)'"])
        #expect(run.status == 1)
        #expect(run.stdout.contains("Msg 1834, Level 16"))
        #expect(run.stdout.contains("It is being used by database 'OctopusDeploy'."))
        #expect(run.stdout.contains("Msg 3156, Level 16"))
        #expect(
            run.stdout.contains(
                "Msg 3013, Level 16, State 1, Server localhost, Line 1\nRESTORE DATABASE is terminating abnormally."
            )
        )
        #expect(!machine.dataFolder.databaseExists(server: "localhost", database: "Copy"))
    }

    @Test func anExistingDatabaseIsReplacedOnlyWithReplace() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let folder = try Self.dataDirectory(machine)
        try machine.open("OctopusDeploy").run("DELETE FROM Machine")
        let same = try machine.sqlcmd(["-b", "-Q", "RESTORE DATABASE [OctopusDeploy] FROM DISK = N'\(bak)'"])
        #expect(same.status == 1)
        #expect(same.stdout.contains("Msg 3159, Level 16"))
        #expect(same.stdout.contains("Use the WITH REPLACE or WITH STOPAT clause"))
        #expect(try machine.column("OctopusDeploy", "SELECT COUNT(*) FROM Machine") == ["0"])

        _ = try machine.sqlcmd([
            "-b", "-i",
            try writeScript(
                Self.restoreSQL("Clone", from: bak, into: folder),
                named: "r.sql",
                in: machine.root
            ),
        ])
        let other = try machine.sqlcmd([
            "-b", "-i",
            try writeScript(
                Self.restoreSQL("Clone", from: bak, into: folder),
                named: "r.sql",
                in: machine.root
            ),
        ])
        #expect(other.status == 1)
        #expect(other.stdout.contains("Msg 3154, Level 16"))
        #expect(other.stdout.contains("a database other than the existing 'Clone' database."))

        let replaced = try machine.sqlcmd([
            "-b", "-Q", "RESTORE DATABASE [OctopusDeploy] FROM DISK = N'\(bak)' WITH REPLACE",
        ])
        #expect(replaced.status == 0, "\(replaced.all)")
        #expect(try machine.column("OctopusDeploy", "SELECT COUNT(*) FROM Machine") == ["3"])
    }

    @Test func moveIsCheckedAgainstTheFileList() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let folder = try Self.dataDirectory(machine)
        let unknown = try machine.sqlcmd([
            "-b", "-Q",
            "RESTORE DATABASE [C1] FROM DISK = N'\(bak)' WITH MOVE N'Octopus' TO N'\(folder)/C1.mdf', "
                + "MOVE N'OctopusDeploy_log' TO N'\(folder)/C1_log.ldf'",
        ])
        #expect(unknown.status == 1)
        #expect(unknown.stdout.contains("Msg 3234, Level 16"))
        #expect(
            unknown.stdout.contains("Logical file 'Octopus' is not part of database 'C1'. Use RESTORE FILELISTONLY")
        )
        let noFolder = try machine.sqlcmd([
            "-b", "-Q",
            "RESTORE DATABASE [C2] FROM DISK = N'\(bak)' WITH MOVE N'OctopusDeploy' TO N'D:\\SQL\\C2.mdf', "
                + "MOVE N'OctopusDeploy_log' TO N'\(folder)/missing/C2_log.ldf'",
        ])
        #expect(noFolder.status == 1)
        #expect(noFolder.stdout.contains("Msg 5133, Level 16"))
        #expect(noFolder.stdout.contains("Directory lookup for the file \"D:\\SQL\\C2.mdf\" failed"))
        for name in ["C1", "C2"] {
            #expect(!machine.dataFolder.databaseExists(server: "localhost", database: name))
        }
    }

    @Test func aTruncatedBackupFailsAndLeavesNoDatabase() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let folder = try Self.dataDirectory(machine)
        let whole = try Data(contentsOf: URL(fileURLWithPath: bak))
        let truncated = "\(machine.root)/backups/truncated.bak"
        try whole.prefix(whole.count - 1000).write(to: URL(fileURLWithPath: truncated))
        let header = try machine.sqlcmd(["-b", "-Q", "RESTORE HEADERONLY FROM DISK = N'\(truncated)'"])
        #expect(header.status == 1)
        #expect(header.stdout.contains("Msg 3241, Level 16"))
        #expect(header.stdout.contains("is incorrectly formed. SQL Server cannot process this media family"))
        #expect(header.stdout.contains("it is truncated"))
        #expect(header.stdout.contains("RESTORE HEADERONLY is terminating abnormally."))
        let restore = try machine.sqlcmd([
            "-b", "-i",
            try writeScript(
                Self.restoreSQL("Clone", from: truncated, into: folder),
                named: "r.sql",
                in: machine.root
            ),
        ])
        #expect(restore.status == 1)
        #expect(restore.stdout.contains("Msg 3241"))
        #expect(!machine.dataFolder.databaseExists(server: "localhost", database: "Clone"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: machine.dataFolder.serverFolder("localhost"))
                .allSatisfy { !$0.contains("restore") }
        )
    }

    @Test func aDamagedBackupFailsAndLeavesTheReplacedDatabaseAlone() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: bak))
        bytes[bytes.count - 5000] ^= 0xFF
        let damaged = "\(machine.root)/backups/damaged.bak"
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let header = try machine.sqlcmd(["-b", "-Q", "RESTORE HEADERONLY FROM DISK = N'\(damaged)'"])
        #expect(header.status == 0, "the headers are intact")
        let verify = try machine.sqlcmd(["-b", "-Q", "RESTORE VERIFYONLY FROM DISK = N'\(damaged)'"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("Msg 3189, Level 16"))
        #expect(verify.stdout.contains("VERIFY DATABASE is terminating abnormally."))
        #expect(
            try machine.sqlcmd(["-b", "-Q", "RESTORE VERIFYONLY FROM DISK = N'\(bak)'"]).stdout
                == "The backup set on file 1 is valid.\n"
        )
        try machine.open("OctopusDeploy").run("UPDATE Machine SET Name = 'kept'")
        let restore = try machine.sqlcmd([
            "-b", "-Q", "RESTORE DATABASE [OctopusDeploy] FROM DISK = N'\(damaged)' WITH REPLACE",
        ])
        #expect(restore.status == 1)
        #expect(restore.stdout.contains("Msg 3189"))
        #expect(try machine.column("OctopusDeploy", "SELECT DISTINCT Name FROM Machine") == ["kept"])
    }

    @Test func backupSetsAppendUnlessInitAndFileChoosesOne() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        try machine.open("OctopusDeploy").run("DELETE FROM Machine WHERE Id = 'Machines-3'")
        let second = try machine.sqlcmd([
            "-b", "-Q", "BACKUP DATABASE [OctopusDeploy] TO DISK = N'\(bak)' WITH NAME = N'second'",
        ])
        #expect(second.status == 0, "\(second.all)")
        #expect(second.stdout.contains("on file 2."))
        let header = try machine.sqlcmd(["-b", "-Q", "SET NOCOUNT ON RESTORE HEADERONLY FROM DISK = N'\(bak)'"])
        let rows = header.stdout.split(separator: "\n").dropFirst(2)
        #expect(rows.count == 2)
        #expect(rows.last?.hasPrefix("second ") == true)
        let folder = try Self.dataDirectory(machine)
        for (file, count) in [(1, "3"), (2, "2")] {
            let script = Self.restoreSQL("Set\(file)", from: bak, into: folder)
                .replacingOccurrences(of: "FILE = 1", with: "FILE = \(file)")
                .replacingOccurrences(of: "/Set\(file)", with: "/Set\(file)x")
            let run = try machine.sqlcmd(["-b", "-i", try writeScript(script, named: "r\(file).sql", in: machine.root)])
            #expect(run.status == 0, "\(run.all)")
            #expect(run.stdout.contains("on file \(file)."))
            #expect(try machine.column("Set\(file)", "SELECT COUNT(*) FROM Machine") == [count])
        }
        let missing = try machine.sqlcmd(["-b", "-Q", "RESTORE FILELISTONLY FROM DISK = N'\(bak)' WITH FILE = 3"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("Msg 4038, Level 16"))
        #expect(missing.stdout.contains("Cannot find file ID 3 on device '\(bak)'."))
        let initialised = try machine.sqlcmd([
            "-b", "-Q", "BACKUP DATABASE [OctopusDeploy] TO DISK = N'\(bak)' WITH INIT",
        ])
        #expect(initialised.stdout.contains("on file 1."))
        #expect(try BackupFile.readSets(bak).count == 1)
    }

    @Test func variablesWhereSQLServerAllowsThem() throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let folder = try Self.dataDirectory(machine)
        let script = """
            DECLARE @db SYSNAME = N'ViaVariables'
            DECLARE @bak NVARCHAR(4000) = N'\(bak)'
            DECLARE @data NVARCHAR(4000) = N'\(folder)/ViaVariables.mdf'
            DECLARE @log NVARCHAR(4000) = N'\(folder)/ViaVariables_log.ldf'
            DECLARE @file INT = 1
            RESTORE DATABASE @db FROM DISK = @bak WITH FILE = @file,
                MOVE N'OctopusDeploy' TO @data, MOVE N'OctopusDeploy_log' TO @log, REPLACE
            """
        let run = try machine.sqlcmd(["-b", "-i", try writeScript(script, named: "v.sql", in: machine.root)])
        #expect(run.status == 0, "\(run.all)")
        #expect(try machine.column("ViaVariables", "SELECT COUNT(*) FROM Machine") == ["3"])
    }

    @Test(arguments: [
        ("BEGIN TRANSACTION\nBACKUP DATABASE [OctopusDeploy] TO DISK = N'x.bak'", "Msg 3021, Level 16"),
        (
            "USE [OctopusDeploy]\nRESTORE DATABASE [OctopusDeploy] FROM DISK = N'$(bak)' WITH REPLACE",
            "Msg 3101, Level 16"
        ),
        ("RESTORE DATABASE [X] FROM DISK = N'$(bak)' WITH NORECOVERY", "RESTORE … WITH NORECOVERY is not supported"),
        ("BACKUP LOG [OctopusDeploy] TO DISK = N'x.trn'", "BACKUP LOG is not supported by the stand-in"),
        ("RESTORE HEADERONLY FROM DISK = N'$(bak)', DISK = N'b.bak'", "striped over several devices is not supported"),
        ("RESTORE HEADERONLY FROM DISK = N'/nonexistent/x.bak'", "Msg 3201, Level 16"),
        ("RESTORE HEADERONLY FROM DISK = N'$(sql)'", "Msg 3241, Level 16"),
        ("BACKUP DATABASE [Nope] TO DISK = N'x.bak'", "Msg 911, Level 16"),
    ])
    func refusals(_ batch: String, _ expected: String) throws {
        let machine = try StandInMachine()
        let bak = try Self.production(machine)
        let sql = try writeScript("SELECT 1", named: "not-a-backup.bak", in: machine.root)
        let run = try machine.sqlcmd(["-b", "-v", "bak=\(bak)", "sql=\(sql)", "-Q", batch])
        #expect(run.status == 1)
        #expect(run.stdout.contains(expected), "\(run.stdout)")
    }
}
