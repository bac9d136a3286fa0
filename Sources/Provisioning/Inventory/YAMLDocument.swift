import Yams

/// A YAML file composed into a node tree with positions, with syntax errors turned into ``InventoryError``s.
///
/// Yams refuses a mapping with a repeated key outright, which would hide every other problem in the file. So
/// when it does, the later occurrences are found in the text, recorded in ``duplicateKeys``, renamed to unique
/// placeholders at the same line and column, and the text is composed again. Walkers skip (and report) keys at
/// those positions.
struct YAMLDocument {
    /// A line and column, as Yams marks them.
    struct Position: Hashable {
        var line: Int
        var column: Int
    }

    /// A key that repeats an earlier key of the same mapping.
    struct DuplicateKey: Hashable {
        /// The key as written.
        var name: String
        /// The line of the first occurrence.
        var firstLine: Int
    }

    /// The root node, or `nil` when the file is empty or is not well-formed YAML.
    var root: Node?
    /// Syntax problems (at most one: libyaml stops at the first).
    var errors: [InventoryError] = []
    /// Later occurrences of repeated keys, by position of the key node.
    var duplicateKeys: [Position: DuplicateKey] = [:]

    /// How many repeated keys are worked around before giving up.
    private static let maximumDuplicateRounds = 100

    /// Composes `text`, named `file` in messages.
    static func compose(_ text: String, file: String) -> YAMLDocument {
        var document = YAMLDocument()
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var source = text
        for round in 0..<maximumDuplicateRounds {
            do {
                document.root = try Yams.compose(yaml: source)
                return document
            } catch YamlError.duplicatedKeysInMapping(let names, let context) {
                let first = Position(line: context.mark.line, column: context.mark.column)
                guard let name = names.first,
                    let later = laterOccurrences(of: name, after: first, in: lines),
                    !later.isEmpty
                else {
                    document.errors.append(
                        InventoryError(
                            .duplicateKey,
                            at: SourceLocation(file: file, line: first.line, column: first.column),
                            keyPath: names.first ?? "",
                            "Key `\(names.first ?? "?")` is given more than once in the same mapping."
                        )
                    )
                    return document
                }
                for (index, position) in later.enumerated() {
                    document.duplicateKeys[position] = DuplicateKey(name: name, firstLine: first.line)
                    lines[position.line - 1] = renaming(
                        lines[position.line - 1],
                        at: position.column,
                        to: "octoprov-duplicate-\(round)-\(index)"
                    )
                }
                source = lines.joined(separator: "\n")
            } catch let error as YamlError {
                document.errors.append(syntaxError(error, text: text, lines: lines, file: file))
                return document
            } catch {
                document.errors.append(
                    InventoryError(
                        .syntaxError,
                        at: SourceLocation(file: file, line: 1, column: 1),
                        keyPath: "",
                        "The inventory could not be parsed as YAML (\(error))."
                    )
                )
                return document
            }
        }
        document.errors.append(
            InventoryError(
                .duplicateKey,
                at: SourceLocation(file: file, line: 1, column: 1),
                keyPath: "",
                "The inventory repeats more than \(maximumDuplicateRounds) keys; fix the duplicates reported first."
            )
        )
        return document
    }

    // MARK: - Repeated keys

    /// Where `name` is repeated as a sibling key of the key at `first`, in a block mapping.
    ///
    /// Sibling keys of a block mapping start at the same column, each at the start of its line (after the
    /// indentation); the mapping ends at the first non-blank, non-comment line indented less.
    /// - Returns: The positions, or `nil` when `first` does not hold `name` (a flow mapping, an escaped key).
    private static func laterOccurrences(of name: String, after first: Position, in lines: [String]) -> [Position]? {
        guard first.line >= 1, first.line <= lines.count,
            keyToken(in: lines[first.line - 1], at: first.column) == name
        else { return nil }
        let indentation = first.column - 1
        var positions: [Position] = []
        for lineIndex in first.line..<lines.count {
            let line = lines[lineIndex]
            let content = line.drop { $0 == " " }
            if content.isEmpty || content.hasPrefix("#") { continue }
            let leading = line.count - content.count
            if leading < indentation { break }
            if leading == indentation, keyToken(in: line, at: first.column) == name {
                positions.append(Position(line: lineIndex + 1, column: first.column))
            }
        }
        return positions
    }

    /// The key that starts at `column` of `line` (plain, single- or double-quoted, followed by `:`), if any.
    private static func keyToken(in line: String, at column: Int) -> String? {
        let scalars = Array(line.unicodeScalars)
        guard column >= 1, column <= scalars.count else { return nil }
        let rest = scalars[(column - 1)...]
        guard let end = keyTokenEnd(rest) else { return nil }
        var token = String(String.UnicodeScalarView(rest[rest.startIndex..<end]))
        if let quote = token.first, quote == "\"" || quote == "'" {
            token = String(token.dropFirst().dropLast())
        }
        return token
    }

    /// The index just past the key token at the start of `scalars`, when a `:` follows it.
    private static func keyTokenEnd(_ scalars: ArraySlice<Unicode.Scalar>) -> Int? {
        guard let first = scalars.first else { return nil }
        var index = scalars.startIndex
        if first == "\"" || first == "'" {
            guard let close = scalars[(index + 1)...].firstIndex(of: first) else { return nil }
            index = close + 1
        } else {
            while index < scalars.endIndex, scalars[index] != ":" { index += 1 }
            while index > scalars.startIndex, scalars[index - 1] == " " { index -= 1 }
        }
        var colon = index
        while colon < scalars.endIndex, scalars[colon] == " " { colon += 1 }
        guard colon < scalars.endIndex, scalars[colon] == ":", index > scalars.startIndex else { return nil }
        return index
    }

    /// `line` with the key token at `column` replaced by `placeholder`.
    private static func renaming(_ line: String, at column: Int, to placeholder: String) -> String {
        let scalars = Array(line.unicodeScalars)
        guard let end = keyTokenEnd(scalars[(column - 1)...]) else { return line }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[..<(column - 1)])
        result.append(contentsOf: placeholder.unicodeScalars)
        result.append(contentsOf: scalars[end...])
        return String(result)
    }

    // MARK: - Syntax errors

    /// An ``InventoryError`` for a libyaml error, with a clearer message for tabs in indentation.
    private static func syntaxError(
        _ error: YamlError,
        text: String,
        lines: [String],
        file: String
    )
        -> InventoryError
    {
        let (mark, detail): (Position, String)
        switch error {
        case .scanner(let context, let problem, let problemMark, _),
            .parser(let context, let problem, let problemMark, _),
            .composer(let context, let problem, let problemMark, _):
            mark = Position(line: problemMark.line, column: problemMark.column)
            if let context {
                detail = "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            } else {
                detail = problem
            }
        case .reader(let problem, let offset, _, _):
            mark = offset.map { position(ofCharacterOffset: $0, in: text) } ?? Position(line: 1, column: 1)
            detail = problem
        default:
            mark = Position(line: 1, column: 1)
            detail = "\(error)"
        }
        if let tab = tabInIndentation(near: mark.line, in: lines) {
            return InventoryError(
                .syntaxError,
                at: SourceLocation(file: file, line: tab.line, column: tab.column),
                keyPath: "",
                "Line \(tab.line) is indented with a tab; YAML indentation must use spaces."
            )
        }
        return InventoryError(
            .syntaxError,
            at: SourceLocation(file: file, line: mark.line, column: mark.column),
            keyPath: "",
            "The inventory is not valid YAML: \(detail)."
        )
    }

    /// The tab in the indentation of `line`, if there is one (libyaml stops right at it).
    private static func tabInIndentation(near line: Int, in lines: [String]) -> Position? {
        guard line >= 1, line <= lines.count else { return nil }
        let text = lines[line - 1]
        let indentation = text.prefix { $0 == " " || $0 == "\t" }
        guard let tab = indentation.firstIndex(of: "\t") else { return nil }
        return Position(line: line, column: text.distance(from: text.startIndex, to: tab) + 1)
    }

    /// The line and column of a character offset (Yams reports reader errors that way).
    private static func position(ofCharacterOffset offset: Int, in text: String) -> Position {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return Position(line: line, column: column)
    }
}
