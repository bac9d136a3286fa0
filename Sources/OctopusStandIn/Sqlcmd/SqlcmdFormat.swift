/// How sqlcmd lays out a result set: its `-h`, `-W` and `-s` options.
///
/// With `-h -1 -W -s '|'` a row of two columns is printed as `v1|v2` and nothing else: no header, no
/// line of dashes, no padding; NULL is printed as `NULL`, as sqlcmd prints it.
public struct SqlcmdLayout: Sendable, Equatable {
    /// When the column headers (and the dashes under them) are printed.
    public enum Headers: Sendable, Equatable {
        /// Once, above the rows (sqlcmd's default).
        case once
        /// Never (`-h -1`).
        case none
        /// Above every `n` rows (`-h n`).
        case every(Int)
    }

    /// `-h`.
    public var headers = Headers.once
    /// `-W`: no padding to the column's width, and a value's own trailing spaces removed.
    public var trimsTrailingSpaces = false
    /// `-s`: the character between columns (a space by default).
    public var columnSeparator: Character = " "

    /// sqlcmd's defaults: headers once, columns padded, separated by one space.
    public init() {}
}

/// How sqlcmd lays out what the server sends.
enum SqlcmdFormat {
    /// A result set: a header line, a line of dashes under each column, then one line per row. Columns
    /// are as wide as their widest value (or header) and separated by one space; numbers align right.
    /// The layout can drop the headers (`-h -1`), repeat them (`-h n`), drop the padding (`-W`) and
    /// change the separator (`-s`).
    static func resultSet(columns: [String], rows: [[SQLValue]], layout: SqlcmdLayout = SqlcmdLayout()) -> [String] {
        let separator = String(layout.columnSeparator)
        if layout.trimsTrailingSpaces {
            let header = columns.map(trimmed).joined(separator: separator)
            let dashes = columns.map { String(repeating: "-", count: max(trimmed($0).count, 1)) }
                .joined(separator: separator)
            let lines = rows.map { row in row.map { trimmed($0.description) }.joined(separator: separator) }
            return withHeaders(lines, header: header, dashes: dashes, layout: layout)
        }
        var widths = columns.map { max($0.count, 1) }
        for row in rows {
            for (index, value) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], value.description.count)
            }
        }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return right ? padding + text : text + padding
        }
        let header = zip(columns, widths).map { pad($0, $1, right: false) }.joined(separator: separator)
        let dashes = widths.map { String(repeating: "-", count: $0) }.joined(separator: separator)
        let lines = rows.map { row in
            zip(row, widths).map { value, width in
                switch value {
                case .integer, .real: pad(value.description, width, right: true)
                default: pad(value.description, width, right: false)
                }
            }
            .joined(separator: separator)
        }
        return withHeaders(lines, header: header, dashes: dashes, layout: layout)
    }

    /// The rows with the header and dashes where `-h` puts them.
    private static func withHeaders(
        _ rows: [String],
        header: String,
        dashes: String,
        layout: SqlcmdLayout
    )
        -> [String]
    {
        switch layout.headers {
        case .none:
            return rows
        case .once:
            return [header, dashes] + rows
        case .every(let count):
            var lines = [header, dashes]
            for (index, row) in rows.enumerated() {
                if index > 0 && index % count == 0 { lines += ["", header, dashes] }
                lines.append(row)
            }
            return lines
        }
    }

    /// A value or header without its trailing spaces (`-W`).
    private static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while text.last == " " { text.removeLast() }
        return String(text)
    }

    /// An error as sqlcmd prints it: `Msg 208, Level 16, State 1, Server X, Line 3`, then the text.
    static func message(_ error: TSQLError, server: String, location: String? = nil) -> [String] {
        var text = error.message
        if let location, error.code == .unsupported || error.code == .syntax {
            if text.hasSuffix(".") { text.removeLast() }
            text += " (\(location))."
        }
        var lines = [
            "Msg \(error.number), Level \(error.level), State \(error.state), Server \(server), Line \(error.line)",
            text,
        ]
        for followUp in error.followUps {
            lines += message(followUp, server: server, location: location)
        }
        return lines
    }
}
