import Foundation

/// One connection to a stand-in "SQL Server": runs batches of the T-SQL subset against the SQLite file
/// of the current database, and writes what sqlcmd would show (result sets, row counts, PRINT, context
/// changes) to an output callback. The library never prints.
///
/// Like SQL Server: variables live for one batch; SET NOCOUNT, SET XACT_ABORT and transactions live
/// for the connection; an error stops the rest of its batch; an open transaction is rolled back when
/// the connection closes.
public final class TSQLSession {
    /// The data folder holding the server's databases.
    public let dataFolder: DataFolder
    /// The server name as given (`-S`); used in messages.
    public let server: String
    /// The current database.
    public private(set) var database: String
    private var connection: SQLiteDatabase
    private var noCount = false
    private var xactAbort = false
    private var transactionCount = 0
    private var variables: [String: (type: TSQLType, value: SQLValue)] = [:]
    /// How result sets are printed (sqlcmd's `-h`, `-W`, `-s`).
    public var layout = SqlcmdLayout()

    /// The system databases SQL Server always has; only `master` can be used on the stand-in.
    static let systemDatabases = ["master", "tempdb", "model", "msdb"]

    /// Connects to a database.
    /// - Parameters:
    ///   - dataFolder: Where the server's SQLite files are.
    ///   - server: The `-S` value.
    ///   - database: The `-d` value; `master` when none was given.
    /// - Throws: ``TSQLError`` with code ``TSQLError/Code/unknownServer`` when the server has no folder,
    ///   Msg 4060 (code ``TSQLError/Code/unknownDatabase``) when the database does not exist,
    ///   ``TSQLError/Code/storage`` when its file cannot be opened.
    public init(dataFolder: DataFolder, server: String, database: String = "master") throws(TSQLError) {
        self.dataFolder = dataFolder
        self.server = server
        self.database = database
        try Self.checkDatabaseName(database, line: 1)
        guard dataFolder.serverExists(server) else {
            throw TSQLError(
                .unknownServer,
                number: 0,
                level: 16,
                line: 1,
                message: "A network-related or instance-specific error has occurred while establishing a connection "
                    + "to SQL Server. Server is not found or not accessible (the stand-in has no folder "
                    + "\(dataFolder.serverFolder(server)))."
            )
        }
        guard dataFolder.databaseExists(server: server, database: database) else {
            throw TSQLError(
                .unknownDatabase,
                number: 4060,
                level: 11,
                line: 1,
                message: "Cannot open database \"\(database)\" requested by the login. The login failed."
            )
        }
        do {
            connection = try dataFolder.open(server: server, database: database)
        } catch {
            throw TSQLError(.storage, number: TSQLError.unsupportedNumber, line: 1, message: "\(error)")
        }
    }

    deinit {
        if transactionCount > 0 { try? connection.execute("ROLLBACK") }
    }

    /// Parses and runs one batch (the text between two `GO` lines).
    /// - Parameters:
    ///   - batch: T-SQL text, scripting variables already substituted.
    ///   - output: Receives each line sqlcmd would print.
    /// - Throws: ``TSQLError``: the first error; nothing after it in the batch has run, and nothing at
    ///   all has run when the batch does not parse.
    public func execute(batch: String, output: (String) -> Void) throws(TSQLError) {
        variables = [:]
        let statements = try TSQLParser.parse(batch)
        do {
            for statement in statements {
                try execute(statement, output: output)
            }
        } catch {
            if xactAbort && transactionCount > 0 {
                try? connection.execute("ROLLBACK")
                transactionCount = 0
            }
            throw error
        }
    }

    // MARK: Statements

    private func execute(_ located: TSQLLocated, output: (String) -> Void) throws(TSQLError) {
        let line = located.line
        switch located.statement {
        case .use(let name):
            try Self.checkDatabaseName(name, line: line)
            guard dataFolder.databaseExists(server: server, database: name) else {
                throw TSQLError(
                    .unknownDatabase,
                    number: 911,
                    line: line,
                    message: "Database '\(name)' does not exist. Make sure that the name is entered correctly."
                )
            }
            guard transactionCount == 0 else {
                throw .unsupported("USE inside a transaction", line: line)
            }
            do {
                connection = try dataFolder.open(server: server, database: name)
            } catch {
                throw TSQLError(.storage, number: TSQLError.unsupportedNumber, line: line, message: "\(error)")
            }
            database = name
            output("Changed database context to '\(name)'.")
        case .ifExists(let select, let negated, let then):
            var parameters: [SQLValue] = []
            let sql = try selectSQL(select, parameters: &parameters, line: line, forExists: true)
            let exists = try query("SELECT EXISTS(\(sql))", parameters, line: line).rows.first?.first == .integer(1)
            if exists != negated { try execute(then, output: output) }
        case .ifDatabase(let name, let exists, let then):
            let value = try evaluate(name, line: line)
            let found = value.text.map { dataFolder.databaseExists(server: server, database: $0) } ?? false
            if found == exists { try execute(then, output: output) }
        case .dropDatabase(let names, let ifExists):
            guard transactionCount == 0 else {
                throw TSQLError(
                    .transaction,
                    number: 226,
                    line: line,
                    message: "DROP DATABASE statement not allowed within multi-statement transaction."
                )
            }
            for name in names { try dropDatabase(try text(name, line: line), ifExists: ifExists, line: line) }
        case .delete(let table, let filter):
            var parameters: [SQLValue] = []
            var sql = "DELETE FROM \(try tableSQL(table, &parameters, line: line, writable: true))"
            if let filter { sql += " WHERE \(try expressionSQL(filter, &parameters))" }
            report(try run(sql, parameters, line: line), output)
        case .update(let table, let assignments, let filter):
            var parameters: [SQLValue] = []
            var sets: [String] = []
            for (column, value) in assignments {
                sets.append("\(quote(column)) = \(try expressionSQL(value, &parameters))")
            }
            let target = try tableSQL(table, &parameters, line: line, writable: true)
            var sql = "UPDATE \(target) SET \(sets.joined(separator: ", "))"
            if let filter { sql += " WHERE \(try expressionSQL(filter, &parameters))" }
            report(try run(sql, parameters, line: line), output)
        case .insert(let table, let columns, let rows):
            var parameters: [SQLValue] = []
            var sql = "INSERT INTO \(try tableSQL(table, &parameters, line: line, writable: true))"
            if let columns { sql += " (\(columns.map(quote).joined(separator: ", ")))" }
            var values: [String] = []
            for row in rows {
                var items: [String] = []
                for item in row { items.append(try expressionSQL(item, &parameters)) }
                values.append("(\(items.joined(separator: ", ")))")
            }
            sql += " VALUES \(values.joined(separator: ", "))"
            report(try run(sql, parameters, line: line), output)
        case .select(let select):
            try runSelect(select, line: line, output: output)
        case .declare(let declarations):
            for (name, type, initial) in declarations {
                if variables[name.lowercased()] != nil {
                    throw TSQLError(
                        .syntax,
                        number: 134,
                        line: line,
                        message: "The variable name '@\(name)' has already been declared. Variable names must be "
                            + "unique within a query batch or stored procedure."
                    )
                }
                let value = try initial.map { (expression) throws(TSQLError) in try evaluate(expression, line: line) }
                variables[name.lowercased()] = (type, Self.coerce(value ?? .null, to: type))
            }
        case .setVariable(let name, let expression):
            try assign(name, try evaluate(expression, line: line), line: line)
        case .setOption(let option, let on):
            if option == "NOCOUNT" { noCount = on } else { xactAbort = on }
        case .print(let expression):
            output(try evaluate(expression, line: line).printable)
        case .beginTransaction:
            if transactionCount == 0 { try run("BEGIN IMMEDIATE", [], line: line) }
            transactionCount += 1
        case .commit:
            guard transactionCount > 0 else {
                throw TSQLError(
                    .transaction,
                    number: 3902,
                    line: line,
                    message: "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."
                )
            }
            transactionCount -= 1
            if transactionCount == 0 { try run("COMMIT", [], line: line) }
        case .rollback:
            guard transactionCount > 0 else {
                throw TSQLError(
                    .transaction,
                    number: 3903,
                    line: line,
                    message: "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."
                )
            }
            transactionCount = 0
            try run("ROLLBACK", [], line: line)
        case .restore(let restore):
            try runRestore(restore, line: line, output: output)
        case .backup(let backup):
            try runBackup(backup, line: line, output: output)
        }
    }

    // MARK: DROP DATABASE

    /// Drops a database as SQL Server does: never a system database (Msg 3708) or one in use — this
    /// connection's current database, or one a stand-in server is running on (Msg 3702); a missing one fails
    /// (Msg 3701) unless `IF EXISTS`. Prints nothing on success.
    private func dropDatabase(_ name: String, ifExists: Bool, line: Int) throws(TSQLError) {
        if Self.systemDatabases.contains(name.lowercased()) {
            throw TSQLError(
                .systemDatabase,
                number: 3708,
                line: line,
                message: "Cannot drop the database '\(name)' because it is a system database."
            )
        }
        try Self.checkDatabaseName(name, line: line)
        guard dataFolder.databaseExists(server: server, database: name) else {
            if ifExists { return }
            throw TSQLError(
                .unknownDatabase,
                number: 3701,
                level: 11,
                line: line,
                message: "Cannot drop the database '\(name)', because it does not exist or you do not have permission."
            )
        }
        let path = dataFolder.databasePath(server: server, database: name)
        guard name.lowercased() != database.lowercased(), !DatabaseUse.isInUse(databasePath: path) else {
            throw TSQLError(
                .databaseInUse,
                number: 3702,
                state: 4,
                line: line,
                message: "Cannot drop database \"\(name)\" because it is currently in use."
            )
        }
        dataFolder.deleteDatabase(server: server, database: name)
        DatabaseUse.removeMarker(databasePath: path)
    }

    // MARK: BACKUP and RESTORE

    private func runRestore(_ restore: TSQLRestore, line: Int, output: (String) -> Void) throws(TSQLError) {
        let verb: String
        switch restore.kind {
        case .fileListOnly: verb = "RESTORE FILELIST"
        case .headerOnly: verb = "RESTORE HEADERONLY"
        case .verifyOnly: verb = "VERIFY DATABASE"
        case .database: verb = "RESTORE DATABASE"
        }
        try terminating(verb, line: line) { () throws(TSQLError) in
            let disk = try devicePath(restore.disk, line: line)
            let position = try restore.file.map { (file) throws(TSQLError) in try integer(file, line: line) } ?? 1
            switch restore.kind {
            case .headerOnly:
                let sets = try DatabaseBackup.backupSets(in: disk)
                try printResultSet(BackupResultSets.headerOnly(sets), output: output)
            case .fileListOnly:
                let set = try DatabaseBackup.backupSet(in: disk, position: position)
                try printResultSet(BackupResultSets.fileListOnly(set), output: output)
            case .verifyOnly:
                let set = try DatabaseBackup.verify(in: disk, position: position)
                output("The backup set on file \(set.position) is valid.")
            case .database(let name):
                let target = try text(name, line: line)
                try Self.checkDatabaseName(target, line: line)
                // SQL Server needs exclusive access to overwrite a database: not this connection's own, and not
                // one a running Octopus Server holds connections to (here: a stand-in server running on it).
                let served =
                    dataFolder.databaseExists(server: server, database: target)
                    && DatabaseUse.isInUse(databasePath: dataFolder.databasePath(server: server, database: target))
                if target.lowercased() == database.lowercased() || served {
                    throw TSQLError(
                        .storage,
                        number: 3101,
                        line: line,
                        message: "Exclusive access could not be obtained because the database is in use."
                    )
                }
                var moves: [(logical: String, physical: String)] = []
                for move in restore.moves {
                    moves.append((try text(move.logical, line: line), try text(move.physical, line: line)))
                }
                let transfer = try DatabaseBackup.restore(
                    dataFolder: dataFolder,
                    server: server,
                    database: target,
                    from: disk,
                    position: position,
                    moves: moves,
                    replace: restore.replace
                )
                try printStats(restore.stats, line: line, output: output)
                transfer.messages(verb: "RESTORE DATABASE").forEach(output)
            }
        }
    }

    private func runBackup(_ backup: TSQLBackup, line: Int, output: (String) -> Void) throws(TSQLError) {
        try terminating("BACKUP DATABASE", line: line) { () throws(TSQLError) in
            let name = try backup.name.map { (value) throws(TSQLError) in try text(value, line: line) }
            let description = try backup.description.map { (value) throws(TSQLError) in try text(value, line: line) }
            let source = try text(backup.database, line: line)
            try Self.checkDatabaseName(source, line: line)
            let transfer = try DatabaseBackup.backup(
                dataFolder: dataFolder,
                server: server,
                database: source,
                to: try devicePath(backup.disk, line: line),
                append: backup.append,
                name: name,
                description: description
            )
            try printStats(backup.stats, line: line, output: output)
            transfer.messages(verb: "BACKUP DATABASE").forEach(output)
        }
    }

    /// Runs a BACKUP or RESTORE, giving its errors the statement's line and SQL Server's closing
    /// Msg 3013 "… is terminating abnormally."; refused inside a transaction (Msg 3021).
    private func terminating(_ verb: String, line: Int, _ body: () throws(TSQLError) -> Void) throws(TSQLError) {
        let closing = TSQLError(.storage, number: 3013, line: line, message: "\(verb) is terminating abnormally.")
        guard transactionCount == 0 else {
            var error = TSQLError(
                .transaction,
                number: 3021,
                line: line,
                message: "Cannot perform a backup or restore operation within a transaction."
            )
            error.followUps = [closing]
            throw error
        }
        do {
            try body()
        } catch {
            var located = error
            located.line = line
            located.followUps = located.followUps.map { followUp in
                var copy = followUp
                copy.line = line
                return copy
            }
            if located.code != .unsupported && located.code != .syntax { located.followUps.append(closing) }
            throw located
        }
    }

    /// A backup device path; relative paths are taken from the server's folder, as SQL Server takes them
    /// from its default backup directory.
    private func devicePath(_ expression: TSQLExpression, line: Int) throws(TSQLError) -> String {
        let path = try text(expression, line: line)
        return path.hasPrefix("/") ? path : "\(dataFolder.serverFolder(server))/\(path)"
    }

    private func text(_ expression: TSQLExpression, line: Int) throws(TSQLError) -> String {
        let value = try evaluate(expression, line: line)
        guard case .text(let text) = value, !text.isEmpty else {
            if case .integer(let number) = value { return String(number) }
            throw TSQLError(
                .syntax,
                number: 102,
                line: line,
                message: "Incorrect syntax: a name or path is NULL or empty."
            )
        }
        return text
    }

    private func integer(_ expression: TSQLExpression, line: Int) throws(TSQLError) -> Int {
        switch try evaluate(expression, line: line) {
        case .integer(let number): return Int(number)
        case .text(let text) where Int(text) != nil: return Int(text) ?? 0
        default:
            throw TSQLError(.syntax, number: 102, line: line, message: "Incorrect syntax: a number was expected.")
        }
    }

    /// `STATS = n`: SQL Server's "n percent processed." lines, ending at 100.
    private func printStats(_ stats: TSQLExpression?, line: Int, output: (String) -> Void) throws(TSQLError) {
        guard let stats else { return }
        let step = max(1, min(100, try integer(stats, line: line)))
        for percent in stride(from: step, through: 100, by: step) { output("\(percent) percent processed.") }
        if 100 % step != 0 { output("100 percent processed.") }
    }

    private func printResultSet(_ resultSet: SQLiteRows, output: (String) -> Void) throws(TSQLError) {
        for text in SqlcmdFormat.resultSet(columns: resultSet.columns, rows: resultSet.rows, layout: layout) {
            output(text)
        }
        if !noCount {
            output("")
            output(Self.rowsAffected(resultSet.rows.count))
        }
    }

    private func report(_ count: Int, _ output: (String) -> Void) {
        guard !noCount else { return }
        output("")
        output(Self.rowsAffected(count))
    }

    static func rowsAffected(_ count: Int) -> String {
        "(\(count) row\(count == 1 ? "" : "s") affected)"
    }

    private func runSelect(_ select: TSQLSelect, line: Int, output: (String) -> Void) throws(TSQLError) {
        var parameters: [SQLValue] = []
        let sql = try selectSQL(select, parameters: &parameters, line: line, forExists: false)
        let rows = try query(sql, parameters, line: line)
        let assignments = select.items.compactMap { item -> (String, Int)? in
            if case .assignment(let name, _, let itemLine) = item { return (name, itemLine) }
            return nil
        }
        if !assignments.isEmpty {
            for row in rows.rows {
                for ((name, itemLine), value) in zip(assignments, row) {
                    try assign(name, value, line: itemLine)
                }
            }
            if !noCount {
                output("")
                output(Self.rowsAffected(rows.rows.count))
            }
            return
        }
        var headers = rows.columns
        if !select.items.contains(where: { $0 == .star }) {
            headers = select.items.map { item in
                switch item {
                case .expression(_, let alias?): alias
                case .expression(.column(let name), nil): name
                default: ""
                }
            }
        }
        for text in SqlcmdFormat.resultSet(columns: headers, rows: rows.rows, layout: layout) { output(text) }
        if !noCount {
            output("")
            output(Self.rowsAffected(rows.rows.count))
        }
    }

    private func selectSQL(
        _ select: TSQLSelect,
        parameters: inout [SQLValue],
        line: Int,
        forExists: Bool
    ) throws(TSQLError) -> String {
        let assigns = select.items.filter {
            if case .assignment = $0 { return true }
            return false
        }
        if !assigns.isEmpty && (assigns.count != select.items.count || forExists) {
            throw TSQLError(
                .syntax,
                number: 141,
                line: line,
                message: "A SELECT statement that assigns a value to a variable must not be combined with "
                    + "data-retrieval operations."
            )
        }
        var items: [String] = []
        for item in select.items {
            switch item {
            case .star:
                items.append("*")
            case .expression(let expression, let alias):
                let sql = try expressionSQL(expression, &parameters)
                items.append(alias.map { "\(sql) AS \(quote($0))" } ?? sql)
            case .assignment(let name, let expression, let itemLine):
                guard variables[name.lowercased()] != nil else { throw Self.undeclared(name, line: itemLine) }
                items.append(try expressionSQL(expression, &parameters))
            }
        }
        var sql = "SELECT \(items.joined(separator: ", "))"
        if let from = select.from { sql += " FROM \(try tableSQL(from, &parameters, line: line, writable: false))" }
        if let filter = select.filter { sql += " WHERE \(try expressionSQL(filter, &parameters))" }
        if !select.orderBy.isEmpty {
            var keys: [String] = []
            for (key, descending) in select.orderBy {
                keys.append("\(try expressionSQL(key, &parameters))\(descending ? " DESC" : "")")
            }
            sql += " ORDER BY \(keys.joined(separator: ", "))"
        }
        if let top = select.top { sql += " LIMIT \(top)" }
        return sql
    }

    private func tableSQL(
        _ table: TSQLTable,
        _ parameters: inout [SQLValue],
        line: Int,
        writable: Bool
    ) throws(TSQLError) -> String {
        switch table {
        case .table(let name):
            if name.lowercased().hasPrefix("sqlite_") {
                throw TSQLError(.invalidObject, number: 208, line: line, message: "Invalid object name '\(name)'.")
            }
            return quote(name)
        case .systemTables:
            guard !writable else {
                throw .unsupported("Changing sys.tables", line: line)
            }
            return "(SELECT name AS [name], 'U' AS [type] FROM sqlite_master WHERE type = 'table' "
                + "AND name NOT LIKE 'sqlite_%') AS [tables]"
        case .systemDatabases:
            guard !writable else {
                throw .unsupported("Changing sys.databases", line: line)
            }
            var rows: [String] = []
            for (index, name) in databaseNames().enumerated() {
                rows.append("SELECT ? AS [name], ? AS [database_id], 'ONLINE' AS [state_desc]")
                parameters += [.text(name), .integer(Int64(index + 1))]
            }
            return "(\(rows.joined(separator: " UNION ALL "))) AS [databases]"
        case .systemDatabaseFiles:
            guard !writable else {
                throw .unsupported("Changing sys.database_files", line: line)
            }
            let files = dataFolder.databaseFiles(server: server, database: database)
            let pages = databaseFilePages()
            let row =
                "SELECT ? AS [file_id], ? AS [type], ? AS [type_desc], ? AS [name], ? AS [physical_name], "
                + "'ONLINE' AS [state_desc], ? AS [size]"
            parameters += [.integer(1), .integer(0), .text("ROWS"), .text(files.data.logicalName)]
            parameters += [.text(files.data.physicalName), .integer(pages.data)]
            parameters += [.integer(2), .integer(1), .text("LOG")]
            parameters += [.text(files.log.logicalName), .text(files.log.physicalName), .integer(pages.log)]
            return "(\(row) UNION ALL \(row)) AS [database_files]"
        }
    }

    /// `sys.database_files.size`: each file's size in 8-KB pages, rounded up, as SQL Server counts it. The data
    /// file is the database's SQLite file; the log is SQLite's journal (`-journal`, `-wal`), 0 pages when there is
    /// none (SQLite removes its rollback journal when a transaction ends).
    private func databaseFilePages() -> (data: Int64, log: Int64) {
        let path = dataFolder.databasePath(server: server, database: database)
        func bytes(_ file: String) -> Int64 {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        }
        func pages(_ bytes: Int64) -> Int64 { (bytes + 8191) / 8192 }
        return (pages(bytes(path)), pages(bytes("\(path)-journal") + bytes("\(path)-wal")))
    }

    /// The names `sys.databases` lists: the system databases, then the server folder's databases (as they
    /// were created or restored, else by their file name), each once.
    private func databaseNames() -> [String] {
        var names = Self.systemDatabases
        var seen = Set(names)
        for file in dataFolder.databases(server: server) {
            let name = dataFolder.databaseFiles(server: server, database: file).databaseName ?? file
            if seen.insert(name.lowercased()).inserted { names.append(name) }
        }
        return names
    }

    /// Refuses a database name longer than SQL Server's 128 characters (Msg 103), one the stand-in cannot keep as
    /// a file in the server's folder (it would name a file elsewhere, or be longer than a file name may be), and
    /// the system databases other than `master`, which the stand-in does not have.
    static func checkDatabaseName(_ name: String, line: Int) throws(TSQLError) {
        if name.count > 128 {
            throw TSQLError(
                .syntax,
                number: 103,
                level: 15,
                state: 4,
                line: line,
                message: "The identifier that starts with '\(name.prefix(128))' is too long. Maximum length is 128."
            )
        }
        if name.contains("/") || name.contains("\0") || name == "." || name == ".." {
            throw .unsupported("A database name with '/' or NUL, or named '.' or '..',", line: line)
        }
        // The longest file kept for a database is `<name>.sqlite-journal`; a file name has at most 255 bytes.
        if name.lowercased().utf8.count > 255 - ".sqlite-journal".utf8.count {
            throw .unsupported("A database name of more than 240 bytes in UTF-8", line: line)
        }
        let lower = name.lowercased()
        if lower != "master" && systemDatabases.contains(lower) {
            throw .unsupported("The system database '\(lower)'", line: line)
        }
    }

    private func quote(_ identifier: String) -> String {
        "[\(identifier.filter { $0 != "]" })]"
    }

    // MARK: Expressions

    /// A lower-case version 4 UUID, computed per row by SQLite.
    private static let newID =
        "(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
        + "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', abs(random()) % 4 + 1, 1) || "
        + "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))"

    private func expressionSQL(_ expression: TSQLExpression, _ parameters: inout [SQLValue]) throws(TSQLError) -> String
    {
        switch expression {
        case .literal(.null):
            return "NULL"
        case .literal(let value):
            parameters.append(value)
            return "?"
        case .column(let name):
            return quote(name)
        case .variable(let name, let line):
            guard let variable = variables[name.lowercased()] else { throw Self.undeclared(name, line: line) }
            parameters.append(variable.value)
            return "?"
        case .comparison(let left, let op, let right):
            let lhs = try expressionSQL(left, &parameters)
            let rhs = try expressionSQL(right, &parameters)
            return "(\(lhs) \(op) \(rhs) COLLATE NOCASE)"
        case .and(let left, let right):
            let lhs = try expressionSQL(left, &parameters)
            return "(\(lhs) AND \(try expressionSQL(right, &parameters)))"
        case .inList(let value, let list):
            let lhs = try expressionSQL(value, &parameters)
            var items: [String] = []
            for item in list { items.append(try expressionSQL(item, &parameters)) }
            return "(\(lhs) COLLATE NOCASE IN (\(items.joined(separator: ", "))))"
        case .convert(let type, let value):
            let inner = try expressionSQL(value, &parameters)
            if type.isInteger { return "CAST(\(inner) AS INTEGER)" }
            if type.isText {
                return type.length.map { "substr(CAST(\(inner) AS TEXT), 1, \($0))" } ?? "CAST(\(inner) AS TEXT)"
            }
            return inner
        case .function(let name, let arguments):
            return try functionSQL(name, arguments, &parameters)
        case .count(let argument):
            return try argument.map { (value) throws(TSQLError) in "COUNT(\(try expressionSQL(value, &parameters)))" }
                ?? "COUNT(*)"
        case .sum(let argument, let line):
            if case .text = kind(of: argument) {
                throw TSQLError(
                    .syntax,
                    number: 8117,
                    line: line,
                    message: "Operand data type nvarchar is invalid for sum operator."
                )
            }
            return "SUM(\(try expressionSQL(argument, &parameters)))"
        case .multiply(let left, let right, let line):
            for operand in [left, right] {
                if case .text = kind(of: operand) {
                    throw .unsupported("The operator '*' on text", line: line)
                }
            }
            return "(\(try expressionSQL(left, &parameters)) * \(try expressionSQL(right, &parameters)))"
        case .add(let left, let right, let line):
            let lhs = try expressionSQL(left, &parameters)
            let rhs = try expressionSQL(right, &parameters)
            switch (kind(of: left), kind(of: right)) {
            case (.text, .text), (.text, .null), (.null, .text):
                // SQLite's || gives NULL when either side is NULL, like SQL Server's + with CONCAT_NULL_YIELDS_NULL.
                return "(\(lhs) || \(rhs))"
            case (.number, .number), (.number, .null), (.null, .number), (.null, .null):
                return "(\(lhs) + \(rhs))"
            case (let leftKind, let rightKind):
                throw .unsupported(
                    "The operator '+' between \(leftKind) and \(rightKind) (only text + text and number + number are)",
                    line: line
                )
            }
        }
    }

    /// What an operand of `+` is, as far as the batch shows without running it.
    private enum OperandKind: CustomStringConvertible {
        case text
        case number
        case null
        case other(String)

        var description: String {
            switch self {
            case .text: "text"
            case .number: "a number"
            case .null: "NULL"
            case .other(let what): what
            }
        }

        init(_ type: TSQLType) {
            if type.isText && type.name != "UNIQUEIDENTIFIER" {
                self = .text
            } else if type.isInteger {
                self = .number
            } else {
                self = .other("a \(type.name) value")
            }
        }
    }

    private func kind(of expression: TSQLExpression) -> OperandKind {
        switch expression {
        case .literal(.text): .text
        case .literal(.integer), .literal(.real), .count, .sum, .multiply: .number
        case .literal(.null): .null
        case .column(let name): .other("the column '\(name)'")
        case .variable(let name, _): variables[name.lowercased()].map { OperandKind($0.type) } ?? .other("@\(name)")
        case .convert(let type, _): OperandKind(type)
        case .function(let name, _):
            ["NCHAR", "LOWER", "JSON_VALUE", "JSON_MODIFY"].contains(name) ? .text : .other("\(name)()")
        case .add(let left, let right, _):
            switch (kind(of: left), kind(of: right)) {
            case (.text, .text), (.text, .null), (.null, .text): .text
            case (.number, .number), (.number, .null), (.null, .number): .number
            case (.null, .null): .null
            default: .other("a sum")
            }
        case .comparison, .and, .inList: .other("a condition")
        }
    }

    private func functionSQL(
        _ name: String,
        _ arguments: [TSQLExpression],
        _ parameters: inout [SQLValue]
    ) throws(TSQLError) -> String {
        func sql(_ index: Int) throws(TSQLError) -> String {
            try expressionSQL(arguments[index], &parameters)
        }
        switch name {
        case "NEWID":
            return Self.newID
        case "SYSUTCDATETIME":
            return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '0000')"
        case "LOWER":
            return "lower(\(try sql(0)))"
        case "NCHAR":
            // The character of a UTF-16 code unit; NULL out of range, as SQL Server's NCHAR.
            let code = "CAST(\(try sql(0)) AS INTEGER)"
            return "(CASE WHEN \(code) BETWEEN 0 AND 65535 THEN char(CAST(\(try sql(0)) AS INTEGER)) END)"
        case "JSON_VALUE":
            // SQL Server returns NULL for objects and arrays and text for every scalar.
            let type = "json_type(\(try sql(0)), \(try sql(1)))"
            let value = "json_extract(\(try sql(0)), \(try sql(1)))"
            return "(CASE \(type) WHEN 'object' THEN NULL WHEN 'array' THEN NULL WHEN 'null' THEN NULL "
                + "WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(\(value) AS TEXT) END)"
        case "JSON_MODIFY":
            // SQL Server removes the property when the new value is NULL.
            let newValue = try sql(2)
            let remove = "json_remove(\(try sql(0)), \(try sql(1)))"
            let set = "json_set(\(try sql(0)), \(try sql(1)), \(try sql(2)))"
            return "(CASE WHEN \(newValue) IS NULL THEN \(remove) ELSE \(set) END)"
        default:
            throw .unsupported("The function \(name)()", line: 1)
        }
    }

    private func evaluate(_ expression: TSQLExpression, line: Int) throws(TSQLError) -> SQLValue {
        var parameters: [SQLValue] = []
        let sql = try expressionSQL(expression, &parameters)
        return try query("SELECT \(sql)", parameters, line: line).rows.first?.first ?? .null
    }

    private func assign(_ name: String, _ value: SQLValue, line: Int) throws(TSQLError) {
        guard let variable = variables[name.lowercased()] else { throw Self.undeclared(name, line: line) }
        variables[name.lowercased()] = (variable.type, Self.coerce(value, to: variable.type))
    }

    /// Converts a value to a variable's type; character types truncate to their length, as SQL Server
    /// does silently on assignment.
    static func coerce(_ value: SQLValue, to type: TSQLType) -> SQLValue {
        switch value {
        case .null:
            return .null
        case .integer(let integer) where type.isText:
            return coerce(.text(String(integer)), to: type)
        case .real(let real) where type.isText:
            return coerce(.text(String(real)), to: type)
        case .text(let text) where type.isText:
            return .text(type.length.map { String(text.prefix($0)) } ?? text)
        case .text(let text) where type.isInteger:
            let number = Int64(text.filter { $0 != " " }) ?? 0
            return .integer(type.name == "BIT" ? (number == 0 ? 0 : 1) : number)
        case .integer(let integer) where type.name == "BIT":
            return .integer(integer == 0 ? 0 : 1)
        case .real(let real) where type.isInteger:
            return .integer(Int64(real))
        default:
            return value
        }
    }

    private static func undeclared(_ name: String, line: Int) -> TSQLError {
        TSQLError(
            .undeclaredVariable,
            number: 137,
            line: line,
            message: "Must declare the scalar variable \"@\(name)\"."
        )
    }

    // MARK: SQLite calls, with SQLite's errors turned into SQL Server's

    @discardableResult
    private func run(_ sql: String, _ parameters: [SQLValue], line: Int) throws(TSQLError) -> Int {
        do {
            return try connection.run(sql, parameters)
        } catch {
            throw translate(error, line: line)
        }
    }

    private func query(_ sql: String, _ parameters: [SQLValue], line: Int) throws(TSQLError) -> SQLiteRows {
        do {
            return try connection.query(sql, parameters)
        } catch {
            throw translate(error, line: line)
        }
    }

    private func translate(_ error: any Error, line: Int) -> TSQLError {
        guard let error = error as? SQLiteError else {
            return TSQLError(.storage, number: TSQLError.unsupportedNumber, line: line, message: "\(error)")
        }
        let text = error.sqliteMessage
        func after(_ prefix: String) -> String? {
            text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : nil
        }
        if let name = after("no such table: ") {
            return TSQLError(.invalidObject, number: 208, line: line, message: "Invalid object name '\(name)'.")
        }
        if let name = after("no such column: ") {
            return TSQLError(.invalidColumn, number: 207, line: line, message: "Invalid column name '\(name)'.")
        }
        let noColumn = text.split(separator: " has no column named ")
        if text.hasPrefix("table "), noColumn.count == 2 {
            let column = noColumn[1]
            return TSQLError(.invalidColumn, number: 207, line: line, message: "Invalid column name '\(column)'.")
        }
        if let key = after("UNIQUE constraint failed: ") {
            let table = key.split(separator: ".").first.map(String.init) ?? key
            return TSQLError(
                .constraint,
                number: 2627,
                line: line,
                message: "Violation of PRIMARY KEY constraint 'PK_\(table)'. Cannot insert duplicate key in object "
                    + "'dbo.\(table)'."
            )
        }
        if let key = after("NOT NULL constraint failed: ") {
            let parts = key.split(separator: ".").map(String.init)
            return TSQLError(
                .constraint,
                number: 515,
                line: line,
                message: "Cannot insert the value NULL into column '\(parts.last ?? key)', table "
                    + "'\(database).dbo.\(parts.first ?? key)'; column does not allow nulls."
            )
        }
        if text.contains("malformed JSON") {
            return TSQLError(.syntax, number: 13609, line: line, message: "JSON text is not properly formatted.")
        }
        if text.contains("JSON path error") || text.contains("bad JSON path") {
            return TSQLError(.syntax, number: 13607, line: line, message: "JSON path is not properly formatted.")
        }
        return TSQLError(
            .storage,
            number: TSQLError.unsupportedNumber,
            line: line,
            message: "The stand-in's SQLite storage failed: \(text)."
        )
    }
}

extension SQLValue {
    /// The value as PRINT shows it: NULL prints an empty line.
    var printable: String {
        self == .null ? "" : description
    }
}
