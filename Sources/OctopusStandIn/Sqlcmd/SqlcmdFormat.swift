/// How sqlcmd lays out what the server sends.
enum SqlcmdFormat {
    /// A result set: a header line, a line of dashes under each column, then one line per row. Columns
    /// are as wide as their widest value (or header) and separated by one space; numbers align right.
    static func resultSet(columns: [String], rows: [[SQLValue]]) -> [String] {
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
        var lines = [zip(columns, widths).map { pad($0, $1, right: false) }.joined(separator: " ")]
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: " "))
        for row in rows {
            lines.append(
                zip(row, widths).map { value, width in
                    switch value {
                    case .integer, .real: pad(value.description, width, right: true)
                    default: pad(value.description, width, right: false)
                    }
                }
                .joined(separator: " ")
            )
        }
        return lines
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
