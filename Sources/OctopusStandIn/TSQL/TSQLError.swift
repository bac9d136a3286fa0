/// An error raised while running T-SQL, shaped like a SQL Server message so sqlcmd can print it as
/// `Msg 208, Level 16, State 1, Server X, Line 3` followed by the text.
public struct TSQLError: StandInError {
    /// What went wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case syntax
            case unsupported
            case invalidObject
            case invalidColumn
            case unknownDatabase
            case unknownServer
            case transaction
            case undeclaredVariable
            case constraint
            case storage
            case databaseInUse
            case systemDatabase
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// Incorrect T-SQL (Msg 102, 105, 113).
        public static let syntax = Code(.syntax)
        /// Valid-looking T-SQL outside the stand-in's subset; never silently skipped.
        public static let unsupported = Code(.unsupported)
        /// Msg 208: a table that does not exist.
        public static let invalidObject = Code(.invalidObject)
        /// Msg 207: a column that does not exist.
        public static let invalidColumn = Code(.invalidColumn)
        /// Msg 911: `USE` of a database that does not exist.
        public static let unknownDatabase = Code(.unknownDatabase)
        /// The `-S` server has no folder in the data folder: sqlcmd's "Server is not found or not accessible".
        public static let unknownServer = Code(.unknownServer)
        /// Msg 3902/3903: COMMIT or ROLLBACK without BEGIN TRANSACTION.
        public static let transaction = Code(.transaction)
        /// Msg 137: a variable used without DECLARE.
        public static let undeclaredVariable = Code(.undeclaredVariable)
        /// Msg 2627/515: a key or NOT NULL violation.
        public static let constraint = Code(.constraint)
        /// The SQLite file failed underneath (I/O, locking).
        public static let storage = Code(.storage)
        /// Msg 3702: `DROP DATABASE` of a database in use (the connection's own, or one a server is running on).
        public static let databaseInUse = Code(.databaseInUse)
        /// Msg 3708: `DROP DATABASE` of a system database.
        public static let systemDatabase = Code(.systemDatabase)

        public var description: String { base.rawValue }
    }

    /// The error number used for statements outside the subset (SQL Server's first user-defined number).
    public static let unsupportedNumber = 50000

    /// Compare errors by code, never by message.
    public var code: Code
    /// The SQL Server message number (`Msg N`).
    public var number: Int
    /// The severity (`Level N`); 16 for the errors here.
    public var level: Int
    /// The state (`State N`).
    public var state: Int
    /// The line within the batch, as SQL Server counts it.
    public var line: Int
    /// One sentence, as SQL Server words it.
    public var message: String
    /// Messages SQL Server sends after this one for the same failure, e.g. Msg 3013 "RESTORE DATABASE is
    /// terminating abnormally." after Msg 3241.
    public var followUps: [TSQLError] = []

    /// An error with SQL Server's number, severity, state and batch line.
    public init(_ code: Code, number: Int, level: Int = 16, state: Int = 1, line: Int, message: String) {
        self.code = code
        self.number = number
        self.level = level
        self.state = state
        self.line = line
        self.message = message
    }

    static func syntax(_ message: String, line: Int, number: Int = 102) -> TSQLError {
        TSQLError(.syntax, number: number, line: line, message: message)
    }

    static func incorrectSyntax(near token: TSQLToken?, line: Int) -> TSQLError {
        let near = token.map { "near '\($0.text)'" } ?? "near the end of the batch"
        return TSQLError(
            .syntax,
            number: 102,
            line: token?.line ?? line,
            message: "Incorrect syntax \(near); if this is valid T-SQL, it is not supported by the stand-in."
        )
    }

    static func unsupported(_ what: String, line: Int) -> TSQLError {
        TSQLError(
            .unsupported,
            number: unsupportedNumber,
            line: line,
            message: "\(what) is not supported by the stand-in."
        )
    }
}
