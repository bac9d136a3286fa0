/// One problem with a template or its values, written for the person at the terminal.
///
/// Compare errors by ``code``; the ``message`` is one sentence that names the template variable (or the file)
/// and never repeats a value, which may be a secret.
public struct TemplateError: LocatedProblem {
    /// What went wrong, as an extensible set of codes (a struct around a private enum, so that new codes never
    /// break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case unreadableFile
            case unknownLanguage
            case templateNotFound
            case unbalancedBraces
            case invalidPlaceholder
            case unknownFilter
            case missingVariable
            case invalidValue
            case invalidInclude
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// A template file or folder could not be read, or is not UTF-8 text.
        public static let unreadableFile = Code(.unreadableFile)
        /// A template's extension is not `.sh`, `.ps1` or `.sql`, or it sits outside `<platform>/<step>.<ext>`.
        public static let unknownLanguage = Code(.unknownLanguage)
        /// No template exists for the platform and step (or SQL name) asked for.
        public static let templateNotFound = Code(.templateNotFound)
        /// A `{{` is not closed by `}}` on the same line.
        public static let unbalancedBraces = Code(.unbalancedBraces)
        /// A placeholder's variable name is empty or not a valid name, or it has more than one filter.
        public static let invalidPlaceholder = Code(.invalidPlaceholder)
        /// A filter other than `raw` (any language) or `ident` (T-SQL only).
        public static let unknownFilter = Code(.unknownFilter)
        /// A placeholder names a variable that has no value.
        public static let missingVariable = Code(.missingVariable)
        /// A value cannot be written safely: it contains NUL, or a `raw` or `ident` value breaks that filter's
        /// rules.
        public static let invalidValue = Code(.invalidValue)
        /// An include (`{{> path }}`) is not on a line of its own, names no partial of the library, includes a
        /// partial of another language or one ending without a line break, includes itself through other partials,
        /// or is rendered outside a ``TemplateLibrary`` (which resolves includes).
        public static let invalidInclude = Code(.invalidInclude)

        /// The code's name, such as `missingVariable`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// Where: the placeholder (or the whole file, with line 0).
    public var location: SourceLocation
    /// The template variable concerned, or empty for problems with the file itself.
    public var variable: String
    /// One sentence, with no "Error:" prefix.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - location: Where.
    ///   - variable: The template variable concerned, or empty.
    ///   - message: One sentence naming the variable or file.
    public init(_ code: Code, at location: SourceLocation, variable: String = "", _ message: String) {
        self.code = code
        self.location = location
        self.variable = variable
        self.message = message
    }

    /// `FILE:LINE:COL: MESSAGE` (or `FILE: MESSAGE` for the whole file).
    public var description: String { "\(location): \(message)" }
}
