/// An expression in the stand-in's T-SQL subset.
indirect enum TSQLExpression: Equatable {
    case literal(SQLValue)
    case column(String)
    case variable(String, line: Int)
    /// `JSON_VALUE`, `JSON_MODIFY`, `NEWID`, `LOWER`, `NCHAR`, `SYSUTCDATETIME` (name upper-cased).
    case function(String, [TSQLExpression])
    /// `CONVERT(type, x)` or `CAST(x AS type)`.
    case convert(TSQLType, TSQLExpression)
    /// `a + b`: concatenation of two strings or the sum of two numbers, decided by their types.
    case add(TSQLExpression, TSQLExpression, line: Int)
    /// `a * b`: the product of two numbers.
    case multiply(TSQLExpression, TSQLExpression, line: Int)
    /// `COUNT(*)` (`nil`) or `COUNT(expression)`; only in a SELECT list or ORDER BY.
    case count(TSQLExpression?)
    /// `SUM(expression)`; only in a SELECT list or ORDER BY. NULL over no rows, as SQL Server's.
    case sum(TSQLExpression, line: Int)
    /// `=` or `<>`.
    case comparison(TSQLExpression, String, TSQLExpression)
    case and(TSQLExpression, TSQLExpression)
    case inList(TSQLExpression, [TSQLExpression])
}

/// A declared type: `NVARCHAR(255)`, `NVARCHAR(MAX)`, `BIT`, …
struct TSQLType: Equatable {
    var name: String
    /// The character length; `nil` for MAX or a non-character type.
    var length: Int?

    var isText: Bool { ["NVARCHAR", "VARCHAR", "NCHAR", "CHAR", "UNIQUEIDENTIFIER", "SYSNAME"].contains(name) }
    var isInteger: Bool { ["INT", "BIGINT", "SMALLINT", "TINYINT", "BIT"].contains(name) }
    static let supportedNames: Set<String> = [
        "NVARCHAR", "VARCHAR", "NCHAR", "CHAR", "UNIQUEIDENTIFIER", "SYSNAME", "INT", "BIGINT", "SMALLINT",
        "TINYINT", "BIT", "DATETIME", "DATETIME2", "DATETIMEOFFSET",
    ]
}

/// A table in FROM, UPDATE, DELETE or INSERT.
enum TSQLTable: Equatable {
    case table(String)
    /// `sys.tables`, answered from `sqlite_master`.
    case systemTables
    /// `sys.databases`: `master`, `tempdb`, `model`, `msdb` and the databases of the server's folder.
    case systemDatabases
    /// `sys.database_files`: the current database's data (`ROWS`) and log (`LOG`) file, with the logical and
    /// physical names a restore's `MOVE` set and `size` in 8-KB pages (the stand-in's files, rounded up).
    case systemDatabaseFiles
}

/// One item of a SELECT list.
enum TSQLSelectItem: Equatable {
    case star
    case expression(TSQLExpression, alias: String?)
    /// `@v = expression`.
    case assignment(String, TSQLExpression, line: Int)
}

struct TSQLSelect {
    var top: Int?
    var items: [TSQLSelectItem]
    var from: TSQLTable?
    var filter: TSQLExpression?
    var orderBy: [(TSQLExpression, descending: Bool)]
}

/// A statement of the subset.
indirect enum TSQLStatement {
    case use(String)
    case ifExists(TSQLSelect, negated: Bool, then: TSQLLocated)
    /// `IF DB_ID(name) IS NOT NULL …` (`exists` true) or `IF DB_ID(name) IS NULL …`.
    case ifDatabase(TSQLExpression, exists: Bool, then: TSQLLocated)
    /// `DROP DATABASE [IF EXISTS] a[, b …]`.
    case dropDatabase([TSQLExpression], ifExists: Bool)
    case delete(TSQLTable, filter: TSQLExpression?)
    case update(TSQLTable, [(String, TSQLExpression)], filter: TSQLExpression?)
    case insert(TSQLTable, columns: [String]?, rows: [[TSQLExpression]])
    case select(TSQLSelect)
    case declare([(String, TSQLType, TSQLExpression?)])
    case setVariable(String, TSQLExpression)
    /// `SET NOCOUNT` or `SET XACT_ABORT` (name upper-cased) `ON`/`OFF`.
    case setOption(String, Bool)
    case print(TSQLExpression)
    case beginTransaction
    case commit
    case rollback
    case restore(TSQLRestore)
    case backup(TSQLBackup)
}

/// A statement with the batch line it starts on.
struct TSQLLocated {
    var statement: TSQLStatement
    var line: Int
}

/// `RESTORE FILELISTONLY | HEADERONLY | VERIFYONLY | DATABASE [x] FROM DISK = … [WITH …]`. Values are
/// literals or variables, where SQL Server allows variables.
struct TSQLRestore {
    enum Kind {
        case fileListOnly
        case headerOnly
        case verifyOnly
        /// The database to restore (a name literal or a variable).
        case database(TSQLExpression)
    }
    var kind: Kind
    var disk: TSQLExpression
    /// `FILE = n`.
    var file: TSQLExpression?
    /// `MOVE 'logical' TO 'physical'`, in order.
    var moves: [(logical: TSQLExpression, physical: TSQLExpression)] = []
    var replace = false
    /// `STATS [= n]` (10 when no percentage is given).
    var stats: TSQLExpression?
}

/// `BACKUP DATABASE [x] TO DISK = … [WITH …]`.
struct TSQLBackup {
    var database: TSQLExpression
    var disk: TSQLExpression
    /// `NOINIT` (the default) appends a backup set; `INIT` or `FORMAT` replaces the media.
    var append = true
    var name: TSQLExpression?
    var description: TSQLExpression?
    var stats: TSQLExpression?
}
