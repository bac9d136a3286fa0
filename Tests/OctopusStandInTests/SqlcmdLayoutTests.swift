import TestHelpers
import Testing

@testable import OctopusStandIn

/// sqlcmd's `-h`, `-W` and `-s`, as the templates run it (`-h -1 -W -s '|'`) and around it.
@Suite(.tags(.small))
struct SqlcmdLayoutTests {
    static let columns = ["name", "value"]
    static let rows: [[SQLValue]] = [
        [.text("machines"), .integer(6)], [.text("server_uri"), .null], [.text("padded  "), .text("  lead")],
    ]

    static func layout(_ headers: SqlcmdLayout.Headers, trim: Bool, separator: Character) -> SqlcmdLayout {
        var layout = SqlcmdLayout()
        layout.headers = headers
        layout.trimsTrailingSpaces = trim
        layout.columnSeparator = separator
        return layout
    }

    @Test func templateFlagsGiveNameBarValueRowsAndNULL() {
        let lines = SqlcmdFormat.resultSet(
            columns: Self.columns,
            rows: Self.rows,
            layout: Self.layout(.none, trim: true, separator: "|")
        )
        // -W removes a value's trailing spaces only; leading spaces are the value's own.
        #expect(lines == ["machines|6", "server_uri|NULL", "padded|  lead"])
    }

    @Test func defaultsPadColumnsAndAlignNumbersRight() {
        let lines = SqlcmdFormat.resultSet(columns: Self.columns, rows: Self.rows)
        #expect(
            lines == [
                "name       value ", "---------- ------", "machines        6", "server_uri NULL  ",
                "padded       lead",
            ]
        )
    }

    @Test func trimmedWithHeadersUnderlinesEachHeader() {
        let lines = SqlcmdFormat.resultSet(
            columns: ["name", ""],
            rows: [[.text("database_exists"), .integer(1)]],
            layout: Self.layout(.once, trim: true, separator: "|")
        )
        #expect(lines == ["name|", "----|-", "database_exists|1"])
    }

    @Test func paddedWithASeparatorAndHeadersEveryTwoRows() {
        let lines = SqlcmdFormat.resultSet(
            columns: ["n"],
            rows: [[.integer(1)], [.integer(2)], [.integer(3)]],
            layout: Self.layout(.every(2), trim: false, separator: ";")
        )
        #expect(lines == ["n", "-", "1", "2", "", "n", "-", "3"])
    }

    @Test func noHeadersAndNoRowsPrintsNothing() {
        let lines = SqlcmdFormat.resultSet(
            columns: ["a"],
            rows: [],
            layout: Self.layout(.none, trim: true, separator: "|")
        )
        #expect(lines.isEmpty)
    }
}
