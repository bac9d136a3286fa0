import TestHelpers
import Testing

@testable import OctopusStandIn

@Suite(.tags(.small))
struct SqlcmdOptionsTests {
    @Test func attachedAndSeparateValues() throws {
        let options = try SqlcmdOptions.parse(
            ["-Stcp:db1,1433", "-d", "OctopusDeploy", "-E", "-b", "-i", "a.sql,b.sql", "-ic.sql", "-v", "x=1", "Y=a=b"]
        )
        #expect(options.server == "tcp:db1,1433")
        #expect(options.database == "OctopusDeploy")
        #expect(options.trustedConnection && options.exitOnError)
        #expect(options.inputFiles == ["a.sql", "b.sql", "c.sql"])
        #expect(options.variables == ["X": "1", "Y": "a=b"])
    }

    @Test func templateFlagsAsTheStandInScriptsPassThem() throws {
        let options = try SqlcmdOptions.parse(
            ["-x", "-b", "-S", "localhost", "-h", "-1", "-W", "-s", "|", "-i", "database-exists.sql"]
        )
        #expect(!options.substitutesVariables && options.exitOnError)
        #expect(options.layout.headers == .none)
        #expect(options.layout.trimsTrailingSpaces)
        #expect(options.layout.columnSeparator == "|")
        #expect(options.inputFiles == ["database-exists.sql"])
        let defaults = try SqlcmdOptions.parse(["-Q", "SELECT 1"])
        #expect(defaults.substitutesVariables && defaults.layout == SqlcmdLayout())
        #expect(defaults.layout.headers == .once && defaults.layout.columnSeparator == " ")
    }

    @Test(arguments: [
        (["-h-1"], SqlcmdLayout.Headers.none), (["-h", "5"], .every(5)), (["-h", "2147483647"], .every(2_147_483_647)),
    ])
    func headerCounts(_ flags: [String], _ headers: SqlcmdLayout.Headers) throws {
        #expect(try SqlcmdOptions.parse(flags + ["-Q", "x"]).layout.headers == headers)
    }

    @Test func aSeparatorMayBeAttachedOrADash() throws {
        #expect(try SqlcmdOptions.parse(["-s,", "-Q", "x"]).layout.columnSeparator == ",")
        #expect(try SqlcmdOptions.parse(["-s", "-", "-Q", "x"]).layout.columnSeparator == "-")
    }

    @Test func passwordFromEnvironmentAndDefaults() throws {
        let options = try SqlcmdOptions.parse(
            ["-U", "sa", "-Q", "SELECT 1"],
            environment: ["SQLCMDPASSWORD": "pw", "SQLCMDDBNAME": "OctopusDeploy"]
        )
        #expect(options.password == "pw")
        #expect(options.database == "OctopusDeploy")
        #expect(options.server == "localhost")
    }

    @Test(arguments: [
        (["-Q", "x", "-z"], SqlcmdUsageError.Code.invalidArguments),
        (["-Q"], .invalidArguments),
        (["-v", "=1", "-Q", "x"], .invalidArguments),
        (["-E", "-U", "sa", "-P", "p", "-Q", "x"], .invalidArguments),
        (["-i", "a.sql", "-Q", "x"], .invalidArguments),
        (["-S", "localhost"], .unsupportedMode),
        (["-U", "sa", "-Q", "x"], .unsupportedMode),
        (["-h", "0", "-Q", "x"], .invalidArguments),
        (["-h", "-2", "-Q", "x"], .invalidArguments),
        (["-h", "all", "-Q", "x"], .invalidArguments),
        (["-h", "2147483648", "-Q", "x"], .invalidArguments),
        (["-h"], .invalidArguments),
        (["-s", "||", "-Q", "x"], .invalidArguments),
        (["-s", "", "-Q", "x"], .invalidArguments),
        (["-W1", "-Q", "x"], .invalidArguments),
        (["-x", "-b"], .unsupportedMode),
    ])
    func refusedCommandLines(_ arguments: [String], _ code: SqlcmdUsageError.Code) {
        let error = #expect(throws: SqlcmdUsageError.self) { try SqlcmdOptions.parse(arguments) }
        #expect(error?.code == code, "\(String(describing: error))")
    }

    @Test func batchesSplitOnlyAtLinesHoldingGO() {
        let script = "PRINT 1\ngo\nPRINT 'GO'\n  Go  \r\nPRINT 2 GO\nGO 2\n"
        #expect(
            Sqlcmd.batches(script) == [
                Sqlcmd.Batch(text: "PRINT 1", firstLine: 1),
                Sqlcmd.Batch(text: "PRINT 'GO'", firstLine: 3),
                Sqlcmd.Batch(text: "PRINT 2 GO\nGO 2\n", firstLine: 5),
            ]
        )
    }
}
