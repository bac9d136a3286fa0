/// The language a template is written in, chosen by its file extension, which decides how values are quoted.
public enum TemplateLanguage: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Bash (`.sh`): values become single-quoted words.
    case bash
    /// PowerShell (`.ps1`): values become single-quoted (verbatim) strings.
    case powerShell
    /// T-SQL (`.sql`): values become `N'…'` literals; `ident` values become `[…]` identifiers.
    case tsql

    /// The language for a file extension (`sh`, `ps1`, `sql`, without the dot, any case).
    ///
    /// - Parameter fileExtension: The extension, such as `ps1`.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "sh": self = .bash
        case "ps1": self = .powerShell
        case "sql": self = .tsql
        default: return nil
        }
    }

    /// The file extension for the language, without the dot.
    public var fileExtension: String {
        switch self {
        case .bash: "sh"
        case .powerShell: "ps1"
        case .tsql: "sql"
        }
    }

    /// The language's name, such as `PowerShell`.
    public var description: String {
        switch self {
        case .bash: "bash"
        case .powerShell: "PowerShell"
        case .tsql: "T-SQL"
        }
    }

    /// `value` as one literal of this language whose value is exactly `value`.
    ///
    /// - bash: `'…'`, each `'` written as `'\''`; inside single quotes bash gives no character a meaning.
    /// - PowerShell: `'…'`, each single-quote character doubled: `'` and also `‘ ’ ‚ ‛` (U+2018–U+201B), which
    ///   PowerShell's tokenizer treats as single quotes too. Nothing else is special in a verbatim string.
    /// - T-SQL: `N'…'` with `'` doubled. Line breaks are written as `NCHAR(13)` / `NCHAR(10)` joined with `+`
    ///   and the whole wrapped in parentheses, so a value never starts a line of the script: `sqlcmd` reads
    ///   `GO`, `:r`, `:!!` and `!!` at the start of a line as its own commands, even inside a string.
    ///
    /// The caller refuses NUL first; no language can carry it in a script.
    ///
    /// - Parameter value: The value, without NUL.
    /// - Returns: The literal.
    public func quote(_ value: String) -> String {
        switch self {
        case .bash:
            return "'" + value.replacingAll("'", with: "'\\''") + "'"
        case .powerShell:
            var result = "'"
            for scalar in value.unicodeScalars {
                result.unicodeScalars.append(scalar)
                if Self.powerShellSingleQuotes.contains(scalar) {
                    result.unicodeScalars.append(scalar)
                }
            }
            return result + "'"
        case .tsql:
            return Self.tsqlLiteral(value)
        }
    }

    /// `value` as a T-SQL bracketed identifier: `[…]` with `]` doubled.
    ///
    /// - Parameter value: The identifier, non-empty and without NUL.
    /// - Returns: The bracketed identifier.
    public static func tsqlIdentifier(_ value: String) -> String {
        "[" + value.replacingAll("]", with: "]]") + "]"
    }

    /// The characters PowerShell's tokenizer takes as a single quote (`'`, `‘`, `’`, `‚`, `‛`).
    static let powerShellSingleQuotes: Set<Unicode.Scalar> = ["\u{27}", "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}"]

    private static func tsqlLiteral(_ value: String) -> String {
        var pieces: [String] = []
        var run = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\r", "\n":
                if !run.isEmpty {
                    pieces.append("N'" + run + "'")
                    run = ""
                }
                pieces.append(scalar == "\r" ? "NCHAR(13)" : "NCHAR(10)")
            case "'":
                run += "''"
            default:
                run.unicodeScalars.append(scalar)
            }
        }
        if !run.isEmpty || pieces.isEmpty {
            pieces.append("N'" + run + "'")
        }
        return pieces.count == 1 ? pieces[0] : "(" + pieces.joined(separator: " + ") + ")"
    }
}

extension String {
    /// A copy with every `target` replaced by `replacement`, compared scalar by scalar (no Foundation, no
    /// Unicode normalisation, so a combining mark after `'` cannot hide it).
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = ""
        for scalar in unicodeScalars {
            if scalar == target {
                result += replacement
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
