import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// `SUM`, `CAST(x AS type)`, `*` and `sys.database_files.size`: what `Templates/sql/database-size.sql` needs,
/// and that file itself run through the stand-in's sqlcmd program.
@Suite(.tags(.small))
struct DatabaseSizeTests {
    static let cases: [StatementCase] = [
        StatementCase(
            name: "SUM of a CAST column",
            batch: "SET NOCOUNT ON UPDATE Machine SET IsDisabled = 1 WHERE Id <> 'Machines-2' "
                + "SELECT SUM(CAST(IsDisabled AS BIGINT)) AS [Disabled] FROM Machine",
            output: ["Disabled", "--------", "       2"]
        ),
        StatementCase(
            name: "SUM over no rows is NULL",
            batch: "SET NOCOUNT ON SELECT SUM(IsDisabled) AS [s] FROM Machine WHERE Id = 'none'",
            output: ["s   ", "----", "NULL"]
        ),
        StatementCase(
            name: "SUM(ALL …), * binds tighter than +, and CAST of text to a number",
            batch: "SET NOCOUNT ON SELECT SUM(ALL 2) * 3 + 1 AS [a], CAST(N'42' AS INT) * 2 AS [b] FROM Machine",
            output: ["a  b ", "-- --", "19 84"]
        ),
        StatementCase(
            name: "CAST to a character type truncates to its length",
            batch: "PRINT CAST(N'abcdef' AS NVARCHAR(3)) + CAST(12 AS NVARCHAR)",
            output: ["abc12"]
        ),
        .fails("SUM in WHERE", "SELECT Id FROM Machine WHERE SUM(IsDisabled) = 0", 147),
        .fails("a column outside SUM", "SELECT Id, SUM(IsDisabled) FROM Machine", 8120, "Column 'Machine.Id'"),
        .fails("SUM of text", "SELECT SUM(N'a') FROM Machine", 8117, "invalid for sum operator"),
        .fails("SUM inside SUM", "SELECT SUM(SUM(IsDisabled)) FROM Machine", 130),
        .fails("SUM(DISTINCT …)", "SELECT SUM(DISTINCT IsDisabled) FROM Machine", TSQLError.unsupportedNumber),
        .fails("SUM(*)", "SELECT SUM(*) FROM Machine", 102),
        .fails("CAST without AS", "PRINT CAST(1 INT)", 102),
        .fails("CAST to a type outside the subset", "PRINT CAST(1 AS FLOAT)", TSQLError.unsupportedNumber, "FLOAT"),
        .fails("* on text", "PRINT N'a' * 2", TSQLError.unsupportedNumber, "'*' on text"),
    ]

    @Test(arguments: cases)
    func statement(_ row: StatementCase) throws {
        try StatementTests().statement(row)
    }

    /// A file's size in 8-KB pages, rounded up.
    static func pages(_ path: String) throws -> Int64 {
        let bytes = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).int64Value
        return (bytes + 8191) / 8192
    }

    @Test func sysDatabaseFilesSizeIsTheFilesPages() throws {
        let fixture = try StandInFixture()
        let session = try TSQLSession(dataFolder: fixture.dataFolder, server: "localhost", database: "OctopusDeploy")
        session.layout.headers = .none
        var lines: [String] = []
        try session.execute(batch: "SET NOCOUNT ON SELECT type_desc, size FROM sys.database_files ORDER BY file_id") {
            lines.append($0)
        }
        let path = fixture.dataFolder.databasePath(server: "localhost", database: "OctopusDeploy")
        let data = try Self.pages(path)
        #expect(data > 0)
        let words = lines.map { $0.split(separator: " ").map(String.init) }
        #expect(words == [["ROWS", "\(data)"], ["LOG", "0"]], "\(lines)")
    }

    /// `Templates/sql/database-size.sql` as octoprov renders it (its one placeholder, the database as a
    /// bracketed identifier), run with the flags the steps' `run_sql` passes.
    @Test func theDatabaseSizeTemplateRunsOnTheStandInsSqlcmd() throws {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Templates/sql/database-size.sql").path
        let text = try String(contentsOfFile: template, encoding: .utf8)
        let placeholder = "{{ database | ident }}"
        #expect(text.components(separatedBy: "{{").count == 2 && text.contains(placeholder), "one placeholder")
        let machine = try StandInMachine()
        let database = try machine.dataFolder.createOctopusDatabase(server: "localhost", database: "Octo]Size")
        let script = try writeScript(
            text.replacingOccurrences(of: placeholder, with: "[Octo]]Size]"),
            named: "database-size.sql",
            in: "\(machine.root)/work"
        )
        let arguments = ["-x", "-b", "-S", "localhost", "-h", "-1", "-W", "-s", "|", "-i", script]
        let path = machine.dataFolder.databasePath(server: "localhost", database: "Octo]Size")

        func databaseBytes() throws -> String {
            let run = try machine.sqlcmd(arguments)
            #expect(run.status == 0, "\(run.all)")
            #expect(run.stdout.split(separator: "\n").first == "Changed database context to 'Octo]Size'.")
            let values = run.stdout.split(separator: "\n").filter { $0.hasPrefix("database_bytes|") }
            #expect(values.count == 1, "\(run.stdout)")
            return values.first.map { String($0.dropFirst("database_bytes|".count)) } ?? ""
        }
        let empty = try databaseBytes()
        #expect(empty == String(try Self.pages(path) * 8192))

        // A few hundred KB more rows: the answer follows the file, in whole 8-KB pages.
        let payload = String(repeating: "x", count: 4000)
        try database.withTransaction {
            for index in 1...100 {
                try database.run(
                    "INSERT INTO Machine (Id, Name, [JSON]) VALUES (?, ?, ?)",
                    [.text("Machines-\(index)"), .text("m\(index)"), .text(#"{"Notes":"\#(payload)"}"#)]
                )
            }
        }
        let grown = try databaseBytes()
        let bytes = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).int64Value
        #expect(grown == String(try Self.pages(path) * 8192))
        #expect(Int64(grown) ?? 0 >= bytes && (Int64(grown) ?? 0) - bytes < 8192)
        #expect((Int64(grown) ?? 0) > (Int64(empty) ?? 0) + 400_000)
    }
}
