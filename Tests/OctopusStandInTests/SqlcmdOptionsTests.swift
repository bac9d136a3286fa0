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
