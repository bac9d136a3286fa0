import OctopusStandIn
import TestHelpers
import Testing

/// One batch against a freshly seeded database, and what sqlcmd would show or the error it raises.
struct StatementCase: CustomTestStringConvertible, Sendable {
    var name: String
    var batch: String
    /// The printed lines, when the batch succeeds.
    var output: [String] = []
    /// `(Msg number, batch line)`, when the batch fails.
    var error: (number: Int, line: Int)?
    /// Text the error message must contain.
    var errorText: String?

    var testDescription: String { name }

    static func fails(_ name: String, _ batch: String, _ number: Int, line: Int = 1, _ text: String? = nil) -> Self {
        StatementCase(name: name, batch: batch, error: (number, line), errorText: text)
    }
}

@Suite(.tags(.small))
struct StatementTests {
    static let unsupported = "not supported by the stand-in"

    static let cases: [StatementCase] = [
        StatementCase(
            name: "select with header, dashes, rows and count",
            batch: "SELECT Id, IsDisabled FROM Machine WHERE Id = 'Machines-1'",
            output: ["Id         IsDisabled", "---------- ----------", "Machines-1          0", "", "(1 row affected)"]
        ),
        StatementCase(
            name: "string comparison is case-insensitive; SET NOCOUNT ON drops counts",
            batch: "SET NOCOUNT ON\nSELECT Name AS [Target] FROM dbo.Machine WHERE Id = 'MACHINES-2'",
            output: ["Target", "------", "web2  "]
        ),
        StatementCase(
            name: "TOP and ORDER BY DESC",
            batch: "SET NOCOUNT ON SELECT TOP 1 [Version] FROM [dbo].[OctopusServerInstallationHistory] "
                + "ORDER BY Installed desc",
            output: ["Version    ", "-----------", "2023.4.8536"]
        ),
        StatementCase(
            name: "UPDATE with several columns, N'' literal with a doubled quote and IN",
            batch: "SET NOCOUNT ON UPDATE Machine SET IsDisabled = 1, Name = N'it''s' WHERE Id IN ('Machines-1', "
                + "'Machines-3')\nSELECT Id FROM Machine WHERE IsDisabled = 1 AND Name = 'it''s'",
            output: ["Id        ", "----------", "Machines-1", "Machines-3"]
        ),
        StatementCase(
            name: "UPDATE reports rows affected",
            batch: "UPDATE Subscription SET IsDisabled = 1",
            output: ["", "(2 rows affected)"]
        ),
        StatementCase(
            name: "DELETE with <>",
            batch: "SET NOCOUNT ON DELETE FROM dbo.Machine WHERE Id <> 'Machines-1' SELECT Id FROM Machine",
            output: ["Id        ", "----------", "Machines-1"]
        ),
        StatementCase(
            name: "INSERT INTO with columns and two rows",
            batch: "SET NOCOUNT ON INSERT INTO Environment (Id, Name, SpaceId) VALUES ('Environments-1', 'Prod', "
                + "'Spaces-1'), ('Environments-2', 'Test', 'Spaces-1') SELECT Name FROM Environment",
            output: ["Name", "----", "Prod", "Test"]
        ),
        StatementCase(
            name: "DECLARE truncates to the declared length",
            batch: "DECLARE @v NVARCHAR(5) = 'abcdefgh' PRINT @v",
            output: ["abcde"]
        ),
        StatementCase(
            name: "NVARCHAR without a length is one character in DECLARE",
            batch: "DECLARE @v NVARCHAR\nSET @v = 'abc'\nPRINT @v",
            output: ["a"]
        ),
        StatementCase(
            name: "several declarations in one DECLARE",
            batch: "DECLARE @a INT = 1, @b NVARCHAR(10) = N'x' PRINT @b PRINT @a",
            output: ["x", "1"]
        ),
        StatementCase(
            name: "JSON_VALUE of a nested scalar",
            batch: #"PRINT JSON_VALUE('{"a":{"b":"c"}}', '$.a.b')"#,
            output: ["c"]
        ),
        StatementCase(
            name: "JSON_VALUE of an object is NULL",
            batch: #"DECLARE @x NVARCHAR(10) = 'unset' SET @x = JSON_VALUE('{"a":{"b":1}}', '$.a') PRINT @x"#,
            output: [""]
        ),
        StatementCase(
            name: "JSON_MODIFY adds a string property",
            batch: #"PRINT JSON_MODIFY('{"a":1}', '$.b', 'x')"#,
            output: [#"{"a":1,"b":"x"}"#]
        ),
        StatementCase(
            name: "JSON_MODIFY with NULL removes the property",
            batch: #"PRINT JSON_MODIFY('{"a":1,"b":2}', '$.b', NULL)"#,
            output: [#"{"a":1}"#]
        ),
        StatementCase(
            name: "LOWER and CONVERT",
            batch: "PRINT LOWER(CONVERT(NVARCHAR(255), 'ABC')) PRINT CONVERT(NVARCHAR(2), 'XYZ')",
            output: ["abc", "XY"]
        ),
        StatementCase(
            name: "SELECT @v = column takes the row's value",
            batch: "SET NOCOUNT ON DECLARE @n NVARCHAR(50)\nSELECT @n = Name FROM Machine WHERE Id = 'Machines-3'\n"
                + "PRINT @n",
            output: ["db1"]
        ),
        StatementCase(
            name: "ROLLBACK undoes a transaction",
            batch: "SET NOCOUNT ON BEGIN TRANSACTION DELETE FROM Machine ROLLBACK SELECT Id FROM Machine "
                + "WHERE Id = 'Machines-2'",
            output: ["Id        ", "----------", "Machines-2"]
        ),
        StatementCase(
            name: "COMMIT keeps a nested transaction's work",
            batch: "SET NOCOUNT ON BEGIN TRAN BEGIN TRANSACTION DELETE FROM Worker COMMIT COMMIT TRANSACTION "
                + "SELECT Id FROM Worker",
            output: ["Id", "--"]
        ),
        StatementCase(
            name: "IF EXISTS over a missing table skips its statement",
            batch: "IF EXISTS (SELECT null FROM sys.tables WHERE name = 'NoSuchTable')\n    DELETE FROM NoSuchTable\n"
                + "PRINT 'skipped'",
            output: ["skipped"]
        ),
        StatementCase(
            name: "comments are ignored",
            batch: "/* a block\ncomment */ -- a line comment\nPRINT 'after' -- trailing",
            output: ["after"]
        ),
        StatementCase(
            name: "COUNT(*) beside a literal, with WHERE, as the templates count",
            batch: "SET NOCOUNT ON SELECT N'machines_enabled', COUNT(*) FROM dbo.Machine WHERE IsDisabled = 0",
            output: [String(repeating: " ", count: 18), "---------------- -", "machines_enabled 3"]
        ),
        StatementCase(
            name: "COUNT(*) of no rows is one row with 0; COUNT(expression) skips NULL",
            batch: "SET NOCOUNT ON SELECT COUNT(*) AS n FROM Machine WHERE Id = 'none'\n"
                + "SELECT COUNT(ALL JSON_VALUE([JSON], '$.x')) AS [with x] FROM Machine",
            output: ["n", "-", "0", "with x", "------", "     0"]
        ),
        StatementCase(
            name: "SELECT @v = COUNT(*) and COUNT in ORDER BY",
            batch: "SET NOCOUNT ON DECLARE @n INT SELECT @n = COUNT(*) FROM Worker PRINT @n\n"
                + "SELECT TOP 1 COUNT(*) AS n FROM Subscription ORDER BY COUNT(*)",
            output: ["2", "n", "-", "2"]
        ),
        StatementCase(
            name: "IF EXISTS over sys.tables then SELECT COUNT(*)",
            batch: "SET NOCOUNT ON IF EXISTS (SELECT 1 FROM sys.tables WHERE name = N'Worker') "
                + "SELECT N'workers', COUNT(*) FROM dbo.Worker",
            output: [String(repeating: " ", count: 9), "------- -", "workers 2"]
        ),
        StatementCase(
            name: "sys.databases lists the system databases and the server's own",
            batch: "SET NOCOUNT ON SELECT name, database_id, state_desc FROM sys.databases",
            output: [
                "name          database_id state_desc", "------------- ----------- ----------",
                "master                  1 ONLINE    ", "tempdb                  2 ONLINE    ",
                "model                   3 ONLINE    ", "msdb                    4 ONLINE    ",
                "octopusdeploy           5 ONLINE    ",
            ]
        ),
        StatementCase(
            name: "sys.databases compares names case-insensitively",
            batch: "SET NOCOUNT ON SELECT N'exists', COUNT(*) FROM sys.databases WHERE name = N'OctopusDeploy'\n"
                + "SELECT N'missing', COUNT(*) FROM sys.databases WHERE name = N'OctopusClone'",
            output: [
                String(repeating: " ", count: 8), "------ -", "exists 1", String(repeating: " ", count: 9), "------- -",
                "missing 0",
            ]
        ),
        StatementCase(
            name: "+ concatenates text and NCHAR makes line breaks, as values with line breaks are rendered",
            batch: #"DECLARE @v NVARCHAR(20) = (N'a''' + NCHAR(13) + NCHAR(10) + N'GO' + NCHAR(10) + N'$(x)')"#
                + "\nPRINT @v PRINT LOWER(N'A' + N'B') + NCHAR(N'33')",
            output: ["a'\r\nGO\n$(x)", "ab!"]
        ),
        StatementCase(
            name: "+ adds numbers; NULL + text is NULL; NCHAR out of range is NULL",
            batch: "DECLARE @n INT = 40 SET @n = @n + 2 PRINT @n\nDECLARE @t NVARCHAR(10) = N'x' + NULL PRINT @t\n"
                + "PRINT NCHAR(70000) PRINT N'[' + NCHAR(NULL) + N']'",
            output: ["42", "", "", ""]
        ),
        StatementCase(
            name: "a concatenation is an expression wherever one is taken",
            batch: "SET NOCOUNT ON UPDATE Machine SET Name = N'a' + NCHAR(10) + N'b' WHERE Id = N'Machines-' + N'1'\n"
                + #"SELECT N'n', COUNT(*) FROM Machine WHERE Name = (N'a' + NCHAR(10) + N'b') AND Id IN (N'M' + N'achines-1')"#
                + "\nPRINT JSON_MODIFY(N'{}', N'$.' + N'k', N'v' + N'w')",
            output: ["   ", "- -", "n 1", #"{"k":"vw"}"#]
        ),
        .fails(
            "+ with a column is refused, its type is not known before it runs",
            "UPDATE Machine SET Name = Name + N'x'",
            TSQLError.unsupportedNumber,
            unsupported
        ),
        .fails("+ of text and a number", "PRINT N'1' + 1", TSQLError.unsupportedNumber, "between text and a number"),
        .fails("+ of text and NEWID()", "PRINT N'x' + NEWID()", TSQLError.unsupportedNumber, unsupported),
        .fails("the - operator", "PRINT 2 - 1", TSQLError.unsupportedNumber, "The operator '-'"),
        .fails("COUNT in WHERE", "SELECT Id FROM Machine WHERE COUNT(*) = 1", 147),
        .fails("COUNT of COUNT", "SELECT COUNT(COUNT(*)) FROM Machine", 130),
        .fails(
            "COUNT outside a SELECT list",
            "UPDATE Machine SET Name = COUNT(*)",
            TSQLError.unsupportedNumber,
            unsupported
        ),
        .fails("COUNT in PRINT", "PRINT COUNT(*)", TSQLError.unsupportedNumber, unsupported),
        .fails(
            "COUNT(DISTINCT …)",
            "SELECT COUNT(DISTINCT Name) FROM Machine",
            TSQLError.unsupportedNumber,
            unsupported
        ),
        .fails(
            "a column beside COUNT without GROUP BY",
            "SELECT Name, COUNT(*) FROM Machine",
            8120,
            "Column 'Machine.Name' is invalid in the select list"
        ),
        .fails("ORDER BY a column with COUNT", "SELECT COUNT(*) FROM Machine ORDER BY Name", 8127),
        .fails("SELECT * with COUNT", "SELECT *, COUNT(*) FROM Machine", TSQLError.unsupportedNumber, unsupported),
        .fails("other aggregates", "SELECT MAX(Id) FROM Machine", TSQLError.unsupportedNumber, "MAX()"),
        .fails("changing sys.databases", "DELETE FROM sys.databases", TSQLError.unsupportedNumber, unsupported),
        .fails("another sys view", "SELECT name FROM sys.objects", TSQLError.unsupportedNumber, unsupported),
        .fails("USE of tempdb", "USE tempdb", TSQLError.unsupportedNumber, "The system database 'tempdb'"),
        .fails("a database name that is a path", "USE [../production-sql/OctopusDeploy]", TSQLError.unsupportedNumber),
        .fails(
            "RESTORE into a path",
            "RESTORE DATABASE [../x] FROM DISK = N'/nope.bak'",
            TSQLError.unsupportedNumber,
            unsupported
        ),
        StatementCase(
            name: "sys.database_files names the current database's data and log file",
            batch: "SET NOCOUNT ON SELECT name, type_desc FROM sys.database_files WHERE type = 1",
            output: ["name              type_desc", "----------------- ---------", "OctopusDeploy_log LOG      "]
        ),
        .fails("changing sys.database_files", "UPDATE sys.database_files SET name = N'x'", TSQLError.unsupportedNumber),
        .fails(
            "a database name longer than 128 characters",
            "USE [" + String(repeating: "d", count: 129) + "]",
            103,
            "is too long. Maximum length is 128."
        ),
        .fails(
            "a database name longer than a file name may be",
            "RESTORE DATABASE [" + String(repeating: "日", count: 100) + "] FROM DISK = N'/nope.bak'",
            TSQLError.unsupportedNumber,
            "more than 240 bytes"
        ),
        .fails("invalid object name", "SELECT * FROM Nope", 208, "Invalid object name 'Nope'."),
        .fails("lines count across CRLF", "PRINT 'a'\r\n\r\nSELECT * FROM Nope", 208, line: 3),
        .fails("invalid column name", "\n\nUPDATE Machine SET Nope = 1", 207, line: 3, "Invalid column name 'Nope'."),
        .fails("unknown database", "USE [Nope]", 911, "Database 'Nope' does not exist."),
        .fails("MERGE", "MERGE INTO Machine USING x ON 1 = 1", TSQLError.unsupportedNumber, unsupported),
        .fails(
            "ALTER TABLE",
            "PRINT 'a'\nALTER TABLE Machine ADD x INT",
            TSQLError.unsupportedNumber,
            line: 2,
            unsupported
        ),
        .fails("EXEC", "EXEC sp_who", TSQLError.unsupportedNumber, unsupported),
        .fails("LIKE", "SELECT Id FROM Machine WHERE Name LIKE 'w%'", TSQLError.unsupportedNumber, unsupported),
        .fails("OR", "DELETE FROM Machine WHERE Id = 'a' OR Id = 'b'", TSQLError.unsupportedNumber, unsupported),
        .fails("other function", "SELECT GETDATE()", TSQLError.unsupportedNumber, unsupported),
        .fails("other SET option", "SET ANSI_NULLS ON", TSQLError.unsupportedNumber, unsupported),
        .fails("a join", "SELECT * FROM Machine JOIN Space ON 1 = 1", TSQLError.unsupportedNumber, unsupported),
        .fails(
            "RESTORE LOG is outside the subset",
            "RESTORE LOG [OctopusDeploy] FROM DISK = N'x.trn'",
            TSQLError.unsupportedNumber,
            unsupported
        ),
        .fails("COMMIT without BEGIN", "COMMIT", 3902),
        .fails("undeclared variable", "PRINT @nope", 137, "Must declare the scalar variable \"@nope\"."),
        .fails("incomplete WHERE", "SELECT Id FROM Machine WHERE", 102),
        .fails("unclosed string", "PRINT 'abc", 105),
        .fails("duplicate key", "INSERT INTO Machine (Id) VALUES ('Machines-1')", 2627),
        .fails("malformed JSON", "PRINT JSON_VALUE('not json', '$.a')", 13609),
        .fails(
            "JSON truncated by its variable's length is malformed, as in SQL Server",
            #"DECLARE @c NVARCHAR(10) = '{"a":"bcdefghij"}'"# + "\nPRINT JSON_VALUE(@c, '$.a')",
            13609,
            line: 2
        ),
    ]

    @Test(arguments: cases)
    func statement(_ row: StatementCase) throws {
        let fixture = try StandInFixture()
        let session = try TSQLSession(dataFolder: fixture.dataFolder, server: "localhost", database: "OctopusDeploy")
        var lines: [String] = []
        do {
            try session.execute(batch: row.batch) { lines.append($0) }
            #expect(row.error == nil, "expected Msg \(row.error?.number ?? 0), got \(lines)")
            #expect(lines == row.output)
        } catch {
            let expected = try #require(row.error, "unexpected Msg \(error.number): \(error.message)")
            #expect(error.number == expected.number, "\(error.message)")
            #expect(error.line == expected.line)
            if let text = row.errorText { #expect(error.message.contains(text), "\(error.message)") }
        }
    }

    @Test func aParseErrorRunsNothingInTheBatch() throws {
        let fixture = try StandInFixture()
        let session = try TSQLSession(dataFolder: fixture.dataFolder, server: "localhost", database: "OctopusDeploy")
        #expect(throws: TSQLError.self) {
            try session.execute(batch: "DELETE FROM Machine\nMERGE INTO Machine") { _ in }
        }
        #expect(try fixture.column("SELECT Id FROM Machine").count == 3)
    }

    @Test func xactAbortRollsBackOnError() throws {
        let fixture = try StandInFixture()
        let session = try TSQLSession(dataFolder: fixture.dataFolder, server: "localhost", database: "OctopusDeploy")
        let error = try #require(throws: TSQLError.self) {
            try session.execute(batch: "SET XACT_ABORT ON BEGIN TRANSACTION DELETE FROM Machine SELECT * FROM Nope") {
                _ in
            }
        }
        #expect(error.code == .invalidObject)
        #expect(try fixture.column("SELECT Id FROM Machine").count == 3)
    }

    @Test(arguments: [
        ("localhost", "localhost"), (".", "localhost"), ("(local)", "localhost"), ("tcp:DB1,1433", "db1"),
        (#"localhost\SQLEXPRESS"#, "localhost_sqlexpress"), ("../etc", ".._etc"),
    ])
    func serverNamesMapToFolders(_ server: String, _ folder: String) {
        #expect(DataFolder.sanitisedServerName(server) == folder)
    }
}
