/// A parsed template: script text in one ``TemplateLanguage`` with `{{ … }}` placeholders (see
/// docs/templates.md).
///
/// Parsing never throws: syntax problems are kept and reported by ``render(_:)`` together with the missing
/// variables, so that one run shows every problem of a template at once. ``TemplateLibrary`` also reports
/// them when it loads a folder.
public struct Template: Sendable {
    /// A filter that changes how a placeholder's value is written.
    enum Filter: String, Sendable, CaseIterable {
        /// The value as is, checked against a conservative character set.
        case raw
        /// A T-SQL bracketed identifier.
        case ident
    }

    /// A piece of the template.
    enum Part: Sendable {
        /// Text copied as is.
        case text(String)
        /// A placeholder for `variable`, at `location`.
        case placeholder(variable: String, filter: Filter?, location: SourceLocation)
        /// A line `{{> path }}`: the partial at `path` (relative to the library's folder) goes here, whole. A
        /// ``TemplateLibrary`` replaces it with the partial's own parts when it loads the folder.
        case include(path: String, location: SourceLocation)
    }

    /// The file as named to the loader, used in every message.
    public let file: String
    /// The language, which decides quoting.
    public let language: TemplateLanguage
    let parts: [Part]
    /// The syntax problems found while parsing, in file order.
    public let syntaxErrors: [TemplateError]

    /// Parses a template.
    ///
    /// - Parameters:
    ///   - text: The template text.
    ///   - file: The file as named to the loader (used in messages).
    ///   - language: The language its values are quoted for.
    public init(text: String, file: String, language: TemplateLanguage) {
        self.file = file
        self.language = language
        var parser = TemplateParser(text: text, file: file, language: language)
        parser.parse()
        self.parts = parser.parts
        self.syntaxErrors = parser.errors
    }

    /// A template made of parts already parsed, such as one whose includes a ``TemplateLibrary`` resolved.
    init(file: String, language: TemplateLanguage, parts: [Part], syntaxErrors: [TemplateError]) {
        self.file = file
        self.language = language
        self.parts = parts
        self.syntaxErrors = syntaxErrors
    }

    /// The partials this template includes directly (`{{> path }}`), in file order, with where each is named.
    var includes: [(path: String, location: SourceLocation)] {
        parts.compactMap { part in
            guard case .include(let path, let location) = part else { return nil }
            return (path, location)
        }
    }

    /// The variables the template's placeholders name, sorted and without repeats.
    public var variables: [String] {
        var names: Set<String> = []
        for case .placeholder(let variable, _, _) in parts {
            names.insert(variable)
        }
        return names.sorted()
    }

    /// Renders the template with `values`, quoting each for the template's language.
    ///
    /// - Parameter values: The template variables by name. Values are text; octoprov turns numbers and
    ///   versions into text before rendering.
    /// - Returns: The script.
    /// - Throws: ``TemplateErrors`` listing every problem: the syntax errors found when parsing
    ///   (``TemplateError/Code/unbalancedBraces``, ``TemplateError/Code/invalidPlaceholder``,
    ///   ``TemplateError/Code/unknownFilter``), every placeholder whose variable is missing
    ///   (``TemplateError/Code/missingVariable``, suggesting the nearest known name), and every value that
    ///   cannot be written safely (``TemplateError/Code/invalidValue``).
    public func render(_ values: [String: String]) throws(TemplateErrors) -> String {
        var errors = syntaxErrors
        var output = ""
        let known = values.keys.sorted()
        for part in parts {
            switch part {
            case .text(let text):
                output += text
            case .include(let path, let location):
                errors.append(
                    TemplateError(
                        .invalidInclude,
                        at: location,
                        "`{{> \(path) }}` includes a partial, which only a templates folder (TemplateLibrary) resolves; "
                            + "load this template from its folder."
                    )
                )
            case .placeholder(let variable, let filter, let location):
                guard let value = values[variable] else {
                    let suggestion = nearestName(to: variable, in: known).map { "; did you mean `\($0)`?" } ?? "."
                    errors.append(
                        TemplateError(
                            .missingVariable,
                            at: location,
                            variable: variable,
                            "Template variable `\(variable)` has no value\(suggestion)"
                        )
                    )
                    continue
                }
                switch Self.write(value, filter: filter, language: language) {
                case .success(let literal):
                    output += literal
                case .failure(let problem):
                    errors.append(
                        TemplateError(
                            .invalidValue,
                            at: location,
                            variable: variable,
                            "Template variable `\(variable)` \(problem)."
                        )
                    )
                }
            }
        }
        if let errors = TemplateErrors(errors) {
            throw errors
        }
        return output
    }

    /// Why a value cannot be written, as the end of a sentence that starts with the variable's name.
    struct ValueProblem: Error {
        var reason: String
    }

    /// `value` written for `language` with `filter`, or the reason it cannot be.
    static func write(_ value: String, filter: Filter?, language: TemplateLanguage) -> Result<String, ValueProblem> {
        guard !value.unicodeScalars.contains("\0") else {
            return .failure(ValueProblem(reason: "contains a NUL character, which no script can carry"))
        }
        switch filter {
        case nil:
            return .success(language.quote(value))
        case .raw:
            guard !value.isEmpty, value.unicodeScalars.allSatisfy(isRawSafe) else {
                return .failure(
                    ValueProblem(
                        reason: "is used with `raw` but is empty or has characters other than ASCII letters, digits, "
                            + "`.`, `_` and `-`"
                    )
                )
            }
            return .success(value)
        case .ident:
            guard !value.isEmpty, value.unicodeScalars.count <= 128,
                !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else {
                return .failure(
                    ValueProblem(
                        reason: "is used with `ident` but is empty, longer than 128 characters, or has a line break "
                            + "or other control character"
                    )
                )
            }
            return .success(TemplateLanguage.tsqlIdentifier(value))
        }
    }

    private static func isRawSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }
}

/// Splits template text into text and placeholders, collecting every syntax problem.
struct TemplateParser {
    let scalars: [Unicode.Scalar]
    let file: String
    let language: TemplateLanguage
    var parts: [Template.Part] = []
    var errors: [TemplateError] = []

    init(text: String, file: String, language: TemplateLanguage) {
        self.scalars = Array(text.unicodeScalars)
        self.file = file
        self.language = language
    }

    mutating func parse() {
        var index = 0
        var line = 1
        var column = 1
        var text = ""
        while index < scalars.count {
            if scalars[index] == "{", index + 1 < scalars.count, scalars[index + 1] == "{" {
                let location = SourceLocation(file: file, line: line, column: column)
                guard let close = closingBraces(after: index + 2) else {
                    errors.append(
                        TemplateError(
                            .unbalancedBraces,
                            at: location,
                            "This `{{` is not closed by `}}` on the same line."
                        )
                    )
                    // Keep the rest of the line as text and carry on with the next line.
                    text += "{{"
                    index += 2
                    column += 2
                    continue
                }
                if !text.isEmpty {
                    parts.append(.text(text))
                    text = ""
                }
                var inside = ""
                inside.unicodeScalars.append(contentsOf: scalars[(index + 2)..<close])
                let before = index > 0 ? scalars[index - 1] : nil
                let after = close + 2 < scalars.count ? scalars[close + 2] : nil
                if inside.unicodeScalars.first == ">" {
                    include(inside, at: location, between: before, and: after)
                    if after == "\n" {
                        // The include stands for its whole line, line break included: the partial brings its own.
                        index = close + 3
                        line += 1
                        column = 1
                        continue
                    }
                } else {
                    placeholder(inside, at: location, between: before, and: after)
                }
                column += close + 2 - index
                index = close + 2
                continue
            }
            let scalar = scalars[index]
            text.unicodeScalars.append(scalar)
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += 1
        }
        if !text.isEmpty {
            parts.append(.text(text))
        }
    }

    /// The index of the `}}` that closes a placeholder opened just before `start`, if it is on the same line
    /// and no other `{{` comes first.
    private func closingBraces(after start: Int) -> Int? {
        var index = start
        while index + 1 < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" || scalar == "\r" { return nil }
            if scalar == "{" && scalars[index + 1] == "{" { return nil }
            if scalar == "}" && scalars[index + 1] == "}" { return index }
            index += 1
        }
        return nil
    }

    /// Characters that, right before or after a placeholder, show it written inside a string or identifier
    /// of the template (`"{{ v }}"`, `N'{{ v }}'`, `[{{ t }}]`), where its own quotes would break.
    private var enclosingQuotes: Set<Unicode.Scalar> {
        var quotes: Set<Unicode.Scalar> = ["'", "\"", "`"]
        switch language {
        case .bash: break
        case .powerShell:
            quotes.formUnion(TemplateLanguage.powerShellSingleQuotes.union(["\u{201C}", "\u{201D}", "\u{201E}"]))
        case .tsql: quotes.formUnion(["[", "]"])
        }
        return quotes
    }

    /// An include, `{{> path }}`: alone on its line, naming a relative path inside the templates folder.
    private mutating func include(
        _ inside: String,
        at location: SourceLocation,
        between before: Unicode.Scalar?,
        and after: Unicode.Scalar?
    ) {
        let path = inside.dropFirst().split(separator: "|", omittingEmptySubsequences: false)[0].trimmingSpaces()
        guard before == nil || before == "\n", after == nil || after == "\n" else {
            errors.append(
                TemplateError(
                    .invalidInclude,
                    at: location,
                    "`{{> \(path) }}` must stand alone on its line (the partial replaces the whole line)."
                )
            )
            return
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"),
            !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
            !inside.contains("|")
        else {
            errors.append(
                TemplateError(
                    .invalidInclude,
                    at: location,
                    "`{{> \(path) }}` must name a partial by its path inside the templates folder, such as "
                        + "`{{> _common/bash.sh }}`, with no filter."
                )
            )
            return
        }
        parts.append(.include(path: path, location: location))
    }

    private mutating func placeholder(
        _ inside: String,
        at location: SourceLocation,
        between before: Unicode.Scalar?,
        and after: Unicode.Scalar?
    ) {
        let pieces = inside.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        let name = pieces[0]
        let quotes = enclosingQuotes
        if let quote = [before, after].compactMap({ $0 }).first(where: { quotes.contains($0) }) {
            errors.append(
                TemplateError(
                    .invalidPlaceholder,
                    at: location,
                    variable: name,
                    "The placeholder for `\(name)` touches \(quote == "`" ? "a backtick" : "a `\(quote)`"): it writes its own quotes, so write it "
                        + "outside any string or brackets and join with the language's operator instead."
                )
            )
            return
        }
        guard Self.isValidName(name) else {
            errors.append(
                TemplateError(
                    .invalidPlaceholder,
                    at: location,
                    variable: name,
                    name.isEmpty
                        ? "This placeholder names no variable; write `{{ name }}`."
                        : "`\(name)` is not a valid variable name (letters, digits, `_` and `.`, not starting with a "
                            + "digit or `.`)."
                )
            )
            return
        }
        guard pieces.count <= 2 else {
            errors.append(
                TemplateError(
                    .invalidPlaceholder,
                    at: location,
                    variable: name,
                    "The placeholder for `\(name)` has more than one filter; use at most one."
                )
            )
            return
        }
        var filter: Template.Filter?
        if pieces.count == 2 {
            let filterName = pieces[1]
            let available: [Template.Filter] = language == .tsql ? [.raw, .ident] : [.raw]
            guard let known = Template.Filter(rawValue: filterName), available.contains(known) else {
                let names = available.map { "`\($0.rawValue)`" }.joined(separator: " and ")
                let suggestion = nearestName(to: filterName, in: available.map(\.rawValue)).map {
                    "; did you mean `\($0)`?"
                }
                errors.append(
                    TemplateError(
                        .unknownFilter,
                        at: location,
                        variable: name,
                        "Unknown filter `\(filterName)` for `\(name)` in a \(language) template (the filters here are "
                            + "\(names))\(suggestion ?? ".")"
                    )
                )
                return
            }
            filter = known
        }
        parts.append(.placeholder(variable: name, filter: filter, location: location))
    }

    /// A variable name: ASCII letters, digits, `_` and `.`, starting with a letter or `_`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetterOrUnderscore else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetterOrUnderscore || ("0"..."9").contains($0) || $0 == "." }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetterOrUnderscore: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_"
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
