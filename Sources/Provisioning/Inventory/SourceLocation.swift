/// A position in an inventory (or other YAML) file, for `file:line:column` messages.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file as it was named to the loader (relative paths stay relative, so messages stay short).
    public var file: String
    /// The line, starting at 1; 0 when the problem concerns the whole file (it could not be read).
    public var line: Int
    /// The column, starting at 1 and counted in Unicode scalars, as libyaml counts them.
    public var column: Int

    /// Creates a location.
    ///
    /// - Parameters:
    ///   - file: The file as named to the loader.
    ///   - line: The line, starting at 1 (0 for the whole file).
    ///   - column: The column, starting at 1.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, or just `file` when the location is the whole file.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column)" : file
    }

    /// Orders locations by file, then line, then column.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
