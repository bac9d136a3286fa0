import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// The built `octopus-standin` binary, run as sqlcmd the way templates will run it.
@Suite(.tags(.medium))
struct SqlcmdCLITests {
    static let binary = BuiltProducts.location(of: "octopus-standin")

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Runs `octopus-standin sqlcmd …`.
    func sqlcmd(
        _ arguments: [String],
        fixture: borrowing StandInFixture,
        environment: [String: String] = [:]
    ) throws
        -> Run
    {
        let run = try TestProcess.run(
            Self.binary,
            ["sqlcmd"] + arguments,
            environment: ["OCTOPUS_STANDIN_DATA": fixture.root, "PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        )
        return Run(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }

    @Test func queryPrintsSqlcmdsFormat() throws {
        let fixture = try StandInFixture()
        let run = try sqlcmd(
            ["-S", "localhost", "-d", "OctopusDeploy", "-E", "-Q", "SELECT Id, Name FROM Space"],
            fixture: fixture
        )
        #expect(run.status == 0)
        #expect(run.lines == ["Id       Name   ", "-------- -------", "Spaces-1 Default", "", "(1 row affected)", ""])
    }

    @Test func passwordFromSQLCMDPASSWORD() throws {
        let fixture = try StandInFixture()
        let withEnvironment = try sqlcmd(
            ["-S", "localhost", "-U", "sa", "-d", "OctopusDeploy", "-Q", "PRINT 'in'"],
            fixture: fixture,
            environment: ["SQLCMDPASSWORD": "secret"]
        )
        #expect(withEnvironment.status == 0 && withEnvironment.stdout == "in\n")
        let without = try sqlcmd(["-U", "sa", "-Q", "PRINT 'in'"], fixture: fixture)
        #expect(without.status == 1)
        #expect(without.stderr.contains("SQLCMDPASSWORD"))
    }

    @Test func exitCodesWithAndWithoutB() throws {
        let fixture = try StandInFixture()
        let query = "SELECT * FROM Nope\nGO\nPRINT 'next batch'"
        let without = try sqlcmd(["-d", "OctopusDeploy", "-Q", query], fixture: fixture)
        #expect(without.status == 0)
        #expect(
            without.lines.prefix(3) == [
                "Msg 208, Level 16, State 1, Server localhost, Line 1", "Invalid object name 'Nope'.", "next batch",
            ]
        )
        let with = try sqlcmd(["-d", "OctopusDeploy", "-b", "-Q", query], fixture: fixture)
        #expect(with.status == 1)
        #expect(!with.stdout.contains("next batch"))
    }

    @Test func scriptingVariables() throws {
        let fixture = try StandInFixture()
        let script = try writeScript(
            "USE [$(db)]\nGO\nSELECT Id FROM Machine WHERE Id = '$(id)'\n",
            named: "vars.sql",
            in: fixture.root
        )
        let run = try sqlcmd(["-b", "-v", "db=OctopusDeploy", "id=Machines-2", "-i", script], fixture: fixture)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.lines.contains("Machines-2"))
        let undefined = try sqlcmd(["-v", "db=OctopusDeploy", "-i", script], fixture: fixture)
        #expect(undefined.status == 1)
        #expect(undefined.stdout.contains("'id' scripting variable not defined."))
        #expect(!undefined.stdout.contains("Machines-2"))
    }

    @Test func templateFlagsPrintBareRowsAndKeepDollarParenthesesLiteral() throws {
        let fixture = try StandInFixture()
        let script = try writeScript(
            "SET NOCOUNT ON;\nSELECT N'name  ', NULL, COUNT(*), N'$(id)' FROM dbo.Machine;\n"
                + "SELECT N'second', N'it''s|here';\n",
            named: "flags.sql",
            in: fixture.root
        )
        let flags = ["-x", "-b", "-S", "localhost", "-d", "OctopusDeploy", "-h", "-1", "-W", "-s", "|", "-i", script]
        let run = try sqlcmd(flags, fixture: fixture)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout == "name|NULL|3|$(id)\nsecond|it's|here\n")
        // Without -x, sqlcmd substitutes $(id) even inside a string literal, and it is not defined.
        let substituted = try sqlcmd(flags.filter { $0 != "-x" }, fixture: fixture)
        #expect(substituted.status == 1)
        #expect(substituted.stdout == "'id' scripting variable not defined.\n")
    }

    @Test func probeOfTheInstallStepConnectsOrFails() throws {
        let fixture = try StandInFixture()
        let answers = try sqlcmd(["-S", "localhost", "-Q", "SET NOCOUNT ON"], fixture: fixture)
        #expect(answers.status == 0 && answers.stdout.isEmpty && answers.stderr.isEmpty)
        let missing = try sqlcmd(["-S", "sql02", "-Q", "SET NOCOUNT ON"], fixture: fixture)
        #expect(missing.status == 1)
    }

    @Test func severalInputFilesRunInOrder() throws {
        let fixture = try StandInFixture()
        let first = try writeScript("UPDATE Machine SET Name = 'renamed'\nGO\n", named: "1.sql", in: fixture.root)
        let second = try writeScript(
            "SET NOCOUNT ON\nSELECT [Renamed] = Name FROM Machine WHERE Id = 'Machines-1'\n",
            named: "2.sql",
            in: fixture.root
        )
        let third = try writeScript("PRINT 'third'\n", named: "3.sql", in: fixture.root)
        let run = try sqlcmd(["-d", "OctopusDeploy", "-b", "-i", first, "-i", "\(second),\(third)"], fixture: fixture)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.lines == ["", "(3 rows affected)", "Renamed", "-------", "renamed", "third", ""])
    }

    @Test func unknownDatabaseOrServer() throws {
        let fixture = try StandInFixture()
        let use = try sqlcmd(["-b", "-Q", "USE [Missing]"], fixture: fixture)
        #expect(use.status == 1)
        #expect(use.stdout.contains("Msg 911, Level 16, State 1, Server localhost, Line 1"))
        #expect(use.stdout.contains("Database 'Missing' does not exist."))
        let login = try sqlcmd(["-d", "Missing", "-Q", "PRINT 1"], fixture: fixture)
        #expect(login.status == 1)
        #expect(login.stdout.contains("Cannot open database \"Missing\" requested by the login."))
        let server = try sqlcmd(["-S", "prod-sql01", "-Q", "PRINT 1"], fixture: fixture)
        #expect(server.status == 1)
        #expect(server.stdout.hasPrefix("Sqlcmd: Error: Microsoft ODBC Driver 18 for SQL Server : A network-related"))
        #expect(server.stdout.contains("Server is not found or not accessible"))
    }

    @Test(arguments: ["MERGE INTO Machine USING Space ON 1 = 1", "EXEC sp_who", "ALTER TABLE Machine ADD x INT"])
    func unsupportedStatementFailsLoudly(_ statement: String) throws {
        let fixture = try StandInFixture()
        let script = try writeScript("PRINT 'first'\nGO\n\n\(statement)\n", named: "bad.sql", in: fixture.root)
        let with = try sqlcmd(["-d", "OctopusDeploy", "-b", "-i", script], fixture: fixture)
        #expect(with.status == 1)
        #expect(with.stdout.contains("Msg 50000, Level 16, State 1, Server localhost, Line 2"))
        #expect(with.stdout.contains("not supported by the stand-in (\(script), line 4)."), "\(with.stdout)")
        let without = try sqlcmd(["-d", "OctopusDeploy", "-i", script], fixture: fixture)
        #expect(without.status == 0)
        #expect(without.stdout.contains("not supported by the stand-in"))
    }

    @Test func multiCallThroughALinkNamedSqlcmd() throws {
        let fixture = try StandInFixture()
        let link = "\(fixture.root)/sqlcmd"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Self.binary)
        let run = try TestProcess.run(
            link,
            ["-Q", "PRINT 'linked'"],
            environment: ["OCTOPUS_STANDIN_DATA": fixture.root]
        )
        #expect(run.status == 0)
        #expect(run.stdout == "linked\n")
    }

    @Test(arguments: [
        ["-h", "0", "-Q", "x"], ["-S"], ["-Q", "x", "-i", "f.sql"], ["-E", "-U", "sa", "-P", "p", "-Q", "x"],
        ["-S", "s"],
    ])
    func badCommandLinesExitOne(_ arguments: [String]) throws {
        let fixture = try StandInFixture()
        let run = try sqlcmd(arguments, fixture: fixture)
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("Sqlcmd: "), "\(run.stderr)")
    }
}
