/// Parses one batch into statements. A whole batch is parsed before any of it runs, so a syntax error
/// or an unsupported statement means nothing in that batch runs, as with SQL Server's compile step.
struct TSQLParser {
    private let tokens: [TSQLToken]
    private var position = 0
    /// Where the expression being parsed is, for `COUNT` and `SUM`: SQL Server takes aggregates only in a
    /// SELECT list and in ORDER BY.
    private var aggregateContext = AggregateContext.elsewhere

    private enum AggregateContext {
        case selectList
        case whereClause
        case insideAggregate
        case elsewhere
    }

    /// T-SQL statements the stand-in knows by name and refuses with "not supported".
    private static let knownStatements: Set<String> = [
        "ALTER", "BACKUP", "BREAK", "BULK", "CHECKPOINT", "CLOSE", "CONTINUE", "CREATE", "DBCC", "DEALLOCATE",
        "DENY", "DISABLE", "DROP", "ELSE", "ENABLE", "END", "EXEC", "EXECUTE", "FETCH", "GO", "GOTO", "GRANT",
        "KILL", "MERGE", "OPEN", "RAISERROR", "RECONFIGURE", "RESTORE", "RETURN", "REVERT", "REVOKE", "SAVE",
        "SETUSER", "SHUTDOWN", "THROW", "TRUNCATE", "WAITFOR", "WHILE", "WITH",
    ]
    /// Words that end an expression or start a clause; never read as a column name or alias.
    private static let reserved: Set<String> = Set([
        "AND", "AS", "ASC", "BEGIN", "BY", "COMMIT", "DECLARE", "DELETE", "DESC", "ELSE", "EXISTS", "FROM",
        "IF", "IN", "INSERT", "INTO", "IS", "LIKE", "NOT", "OR", "ORDER", "PRINT", "ROLLBACK", "SELECT", "SET",
        "TOP", "UPDATE", "USE", "VALUES", "WHERE", "BETWEEN", "GROUP", "HAVING", "JOIN", "UNION", "ON",
    ]).union(knownStatements)
    /// Operators SQL Server has and the stand-in refuses by name.
    private static let unsupportedOperators: Set<String> = [
        "<", ">", "<=", ">=", "!=", "+", "-", "/", "%", "&", "|", "^", "+=", "-=",
    ]
    private static let unsupportedInfixWords: Set<String> = ["OR", "LIKE", "IS", "BETWEEN", "NOT"]

    init(tokens: [TSQLToken]) {
        self.tokens = tokens
    }

    /// Parses a batch's text.
    static func parse(_ batch: String) throws(TSQLError) -> [TSQLLocated] {
        var parser = TSQLParser(tokens: try TSQLLexer.tokenize(batch))
        return try parser.parseBatch()
    }

    mutating func parseBatch() throws(TSQLError) -> [TSQLLocated] {
        var statements: [TSQLLocated] = []
        while position < tokens.count {
            if accept(symbol: ";") { continue }
            statements.append(try parseStatement())
        }
        return statements
    }

    // MARK: Token helpers

    private var current: TSQLToken? { position < tokens.count ? tokens[position] : nil }
    private var lastLine: Int { tokens.last?.line ?? 1 }

    private func peekKeyword(_ keyword: String, offset: Int = 0) -> Bool {
        position + offset < tokens.count && tokens[position + offset].isKeyword(keyword)
    }

    private func peekSymbol(_ symbol: String, offset: Int = 0) -> Bool {
        position + offset < tokens.count && tokens[position + offset].kind == .symbol(symbol)
    }

    private mutating func accept(keyword: String) -> Bool {
        guard peekKeyword(keyword) else { return false }
        position += 1
        return true
    }

    private mutating func accept(symbol: String) -> Bool {
        guard peekSymbol(symbol) else { return false }
        position += 1
        return true
    }

    private mutating func expect(keyword: String) throws(TSQLError) {
        guard accept(keyword: keyword) else { throw .incorrectSyntax(near: current, line: lastLine) }
    }

    private mutating func expect(symbol: String) throws(TSQLError) {
        guard accept(symbol: symbol) else { throw unexpected() }
    }

    /// The error for the current token: "not supported" when SQL Server would accept it.
    private func unexpected() -> TSQLError {
        guard let token = current else { return .incorrectSyntax(near: nil, line: lastLine) }
        switch token.kind {
        case .symbol(let symbol) where Self.unsupportedOperators.contains(symbol):
            return .unsupported("The operator '\(symbol)'", line: token.line)
        case .word(let word) where Self.unsupportedInfixWords.contains(word.uppercased()):
            return .unsupported("\(word.uppercased())", line: token.line)
        default:
            return .incorrectSyntax(near: token, line: lastLine)
        }
    }

    /// An identifier: a bare non-reserved word or a `[bracketed]` name.
    private mutating func identifier() throws(TSQLError) -> String {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        switch token.kind {
        case .quoted(let name):
            position += 1
            return name
        case .word(let word) where !Self.reserved.contains(word.uppercased()):
            position += 1
            return word
        default:
            throw unexpected()
        }
    }

    private mutating func variable() throws(TSQLError) -> String {
        guard let token = current, case .variable(let name) = token.kind else { throw unexpected() }
        position += 1
        return name
    }

    // MARK: Statements

    private mutating func parseStatement() throws(TSQLError) -> TSQLLocated {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        let line = token.line
        guard case .word(let word) = token.kind else {
            if case .symbol(":") = token.kind, let next = tokens.dropFirst(position + 1).first {
                throw .unsupported("The sqlcmd command ':\(next.text)'", line: line)
            }
            throw unexpected()
        }
        let keyword = word.uppercased()
        position += 1
        let statement: TSQLStatement
        switch keyword {
        case "USE":
            statement = .use(try identifier())
        case "IF":
            statement = try parseIf()
        case "DELETE":
            _ = accept(keyword: "FROM")
            let table = try tableName()
            statement = .delete(table, filter: try whereClause())
        case "UPDATE":
            statement = try parseUpdate()
        case "INSERT":
            statement = try parseInsert()
        case "SELECT":
            statement = .select(try parseSelectBody())
        case "DECLARE":
            statement = try parseDeclare()
        case "SET":
            statement = try parseSet()
        case "PRINT":
            statement = .print(try expression())
        case "BEGIN":
            guard accept(keyword: "TRAN") || accept(keyword: "TRANSACTION") else {
                throw .unsupported("BEGIN … END blocks (only BEGIN TRANSACTION is)", line: line)
            }
            statement = .beginTransaction
        case "COMMIT", "ROLLBACK":
            _ = accept(keyword: "TRAN") || accept(keyword: "TRANSACTION") || accept(keyword: "WORK")
            statement = keyword == "COMMIT" ? .commit : .rollback
        case "RESTORE":
            statement = .restore(try parseRestore(line: line))
        case "BACKUP":
            statement = .backup(try parseBackup(line: line))
        case "DROP":
            guard accept(keyword: "DATABASE") else {
                throw .unsupported("The DROP statement (only DROP DATABASE is)", line: line)
            }
            var ifExists = false
            if accept(keyword: "IF") {
                try expect(keyword: "EXISTS")
                ifExists = true
            }
            var names = [try databaseName()]
            while accept(symbol: ",") { names.append(try databaseName()) }
            statement = .dropDatabase(names, ifExists: ifExists)
        default:
            if Self.knownStatements.contains(keyword) {
                throw .unsupported("The \(keyword) statement", line: line)
            }
            position -= 1
            throw unexpected()
        }
        return TSQLLocated(statement: statement, line: line)
    }

    // MARK: BACKUP and RESTORE

    private mutating func parseRestore(line: Int) throws(TSQLError) -> TSQLRestore {
        guard let token = current, case .word(let word) = token.kind else { throw unexpected() }
        position += 1
        let kind: TSQLRestore.Kind
        switch word.uppercased() {
        case "FILELISTONLY": kind = .fileListOnly
        case "HEADERONLY": kind = .headerOnly
        case "VERIFYONLY": kind = .verifyOnly
        case "DATABASE": kind = .database(try databaseName())
        case "LOG", "LABELONLY", "REWINDONLY", "FILEGROUP":
            throw .unsupported("RESTORE \(word.uppercased())", line: token.line)
        default:
            position -= 1
            throw unexpected()
        }
        try expect(keyword: "FROM")
        var restore = TSQLRestore(kind: kind, disk: try backupDevice())
        guard accept(keyword: "WITH") else { return restore }
        repeat {
            guard let option = current, case .word(let name) = option.kind else { throw unexpected() }
            position += 1
            switch name.uppercased() {
            case "FILE":
                try expect(symbol: "=")
                restore.file = try optionValue()
            case "MOVE":
                if case .database = kind {
                    let logical = try optionValue()
                    try expect(keyword: "TO")
                    restore.moves.append((logical: logical, physical: try optionValue()))
                } else {
                    throw .unsupported("RESTORE … WITH MOVE without DATABASE", line: option.line)
                }
            case "REPLACE": restore.replace = true
            case "STATS": restore.stats = accept(symbol: "=") ? try optionValue() : .literal(.integer(10))
            case "NOUNLOAD", "UNLOAD", "RECOVERY", "CHECKSUM", "NO_CHECKSUM", "REWIND", "NOREWIND":
                break
            default:
                throw .unsupported("RESTORE … WITH \(name.uppercased())", line: option.line)
            }
        } while accept(symbol: ",")
        return restore
    }

    private mutating func parseBackup(line: Int) throws(TSQLError) -> TSQLBackup {
        guard let token = current, case .word(let word) = token.kind else { throw unexpected() }
        guard word.uppercased() == "DATABASE" else {
            throw .unsupported("BACKUP \(word.uppercased())", line: token.line)
        }
        position += 1
        let database = try databaseName()
        try expect(keyword: "TO")
        var backup = TSQLBackup(database: database, disk: try backupDevice())
        guard accept(keyword: "WITH") else { return backup }
        repeat {
            guard let option = current, case .word(let name) = option.kind else { throw unexpected() }
            position += 1
            switch name.uppercased() {
            case "INIT", "FORMAT": backup.append = false
            case "NOINIT": backup.append = true
            case "NAME":
                try expect(symbol: "=")
                backup.name = try optionValue()
            case "DESCRIPTION":
                try expect(symbol: "=")
                backup.description = try optionValue()
            case "MEDIANAME", "MEDIADESCRIPTION":
                try expect(symbol: "=")
                _ = try optionValue()
            case "STATS": backup.stats = accept(symbol: "=") ? try optionValue() : .literal(.integer(10))
            case "NOFORMAT", "SKIP", "NOSKIP", "COMPRESSION", "NO_COMPRESSION", "COPY_ONLY", "CHECKSUM",
                "NO_CHECKSUM", "NOUNLOAD", "UNLOAD", "REWIND", "NOREWIND":
                break
            default:
                throw .unsupported("BACKUP … WITH \(name.uppercased())", line: option.line)
            }
        } while accept(symbol: ",")
        return backup
    }

    /// `[name]`, `name` or `@variable`, as the database of BACKUP and RESTORE.
    private mutating func databaseName() throws(TSQLError) -> TSQLExpression {
        if let token = current, case .variable(let name) = token.kind {
            position += 1
            return .variable(name, line: token.line)
        }
        return .literal(.text(try identifier()))
    }

    /// `DISK = N'path'` or `DISK = @variable`; one device only.
    private mutating func backupDevice() throws(TSQLError) -> TSQLExpression {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        guard token.isKeyword("DISK") else {
            if case .word(let word) = token.kind, ["URL", "TAPE"].contains(word.uppercased()) {
                throw .unsupported("A backup device of type \(word.uppercased())", line: token.line)
            }
            throw unexpected()
        }
        position += 1
        try expect(symbol: "=")
        let device = try optionValue()
        if let comma = current, comma.kind == .symbol(","), position + 1 < tokens.count,
            tokens[position + 1].isKeyword("DISK")
        {
            throw .unsupported("A backup striped over several devices", line: comma.line)
        }
        return device
    }

    /// A string, a number or a variable: the values BACKUP and RESTORE options take.
    private mutating func optionValue() throws(TSQLError) -> TSQLExpression {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        switch token.kind {
        case .string(let value):
            position += 1
            return .literal(.text(value))
        case .number(let text):
            guard let value = Int64(text) else { throw .incorrectSyntax(near: token, line: token.line) }
            position += 1
            return .literal(.integer(value))
        case .variable(let name):
            position += 1
            return .variable(name, line: token.line)
        default:
            throw unexpected()
        }
    }

    private mutating func parseIf() throws(TSQLError) -> TSQLStatement {
        if peekKeyword("DB_ID"), peekSymbol("(", offset: 1) {
            // `IF DB_ID(N'name') IS [NOT] NULL statement`: whether a database exists.
            position += 2
            let name = try expression()
            try expect(symbol: ")")
            try expect(keyword: "IS")
            let exists = accept(keyword: "NOT")
            try expect(keyword: "NULL")
            guard current != nil else { throw .incorrectSyntax(near: nil, line: lastLine) }
            let then = try parseStatement()
            if let token = current, token.isKeyword("ELSE") {
                throw .unsupported("IF … ELSE", line: token.line)
            }
            return .ifDatabase(name, exists: exists, then: then)
        }
        let negated = accept(keyword: "NOT")
        guard accept(keyword: "EXISTS") else {
            throw .unsupported("IF without EXISTS (SELECT …)", line: current?.line ?? lastLine)
        }
        try expect(symbol: "(")
        try expect(keyword: "SELECT")
        let select = try parseSelectBody()
        try expect(symbol: ")")
        guard current != nil else { throw .incorrectSyntax(near: nil, line: lastLine) }
        let then = try parseStatement()
        if let token = current, token.isKeyword("ELSE") {
            throw .unsupported("IF … ELSE", line: token.line)
        }
        return .ifExists(select, negated: negated, then: then)
    }

    private mutating func parseUpdate() throws(TSQLError) -> TSQLStatement {
        let table = try tableName()
        try expect(keyword: "SET")
        var assignments: [(String, TSQLExpression)] = []
        repeat {
            let column = try identifier()
            try expect(symbol: "=")
            assignments.append((column, try expression()))
        } while accept(symbol: ",")
        if let token = current, token.isKeyword("FROM") {
            throw .unsupported("UPDATE … FROM", line: token.line)
        }
        return .update(table, assignments, filter: try whereClause())
    }

    private mutating func parseInsert() throws(TSQLError) -> TSQLStatement {
        _ = accept(keyword: "INTO")
        let table = try tableName()
        var columns: [String]?
        if accept(symbol: "(") {
            var names: [String] = []
            repeat { names.append(try identifier()) } while accept(symbol: ",")
            try expect(symbol: ")")
            columns = names
        }
        guard accept(keyword: "VALUES") else {
            if let token = current, token.isKeyword("SELECT") || token.isKeyword("EXEC") {
                throw .unsupported("INSERT … \(token.text.uppercased())", line: token.line)
            }
            throw unexpected()
        }
        var rows: [[TSQLExpression]] = []
        repeat {
            try expect(symbol: "(")
            rows.append(try expressionList())
            try expect(symbol: ")")
        } while accept(symbol: ",")
        return .insert(table, columns: columns, rows: rows)
    }

    private mutating func parseSelectBody() throws(TSQLError) -> TSQLSelect {
        let line = current?.line ?? lastLine
        let outerContext = aggregateContext
        defer { aggregateContext = outerContext }
        var top: Int?
        if accept(keyword: "TOP") {
            let parenthesised = accept(symbol: "(")
            guard let token = current, case .number(let text) = token.kind, let value = Int(text) else {
                throw unexpected()
            }
            position += 1
            if parenthesised { try expect(symbol: ")") }
            top = value
        }
        if let token = current, token.isKeyword("DISTINCT") {
            throw .unsupported("SELECT DISTINCT", line: token.line)
        }
        var items: [TSQLSelectItem] = []
        aggregateContext = .selectList
        repeat {
            items.append(try selectItem())
        } while accept(symbol: ",")
        aggregateContext = .elsewhere
        var select = TSQLSelect(top: top, items: items, from: nil, filter: nil, orderBy: [])
        if let token = current, token.isKeyword("INTO") {
            throw .unsupported("SELECT … INTO", line: token.line)
        }
        if accept(keyword: "FROM") {
            select.from = try tableName()
            if let token = current,
                let word = ["JOIN", "INNER", "LEFT", "RIGHT", "CROSS", "OUTER", "WITH"]
                    .first(where: token.isKeyword) ?? (token.kind == .symbol(",") ? "," : nil)
            {
                throw .unsupported("FROM with \(word == "," ? "several tables" : word)", line: token.line)
            }
        }
        select.filter = try whereClause()
        if let token = current, token.isKeyword("GROUP") || token.isKeyword("HAVING") || token.isKeyword("UNION") {
            throw .unsupported("SELECT … \(token.text.uppercased())", line: token.line)
        }
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            aggregateContext = .selectList
            repeat {
                let key = try expression()
                let descending = accept(keyword: "DESC")
                if !descending { _ = accept(keyword: "ASC") }
                select.orderBy.append((key, descending: descending))
            } while accept(symbol: ",")
        }
        try Self.checkAggregates(select, line: line)
        return select
    }

    /// A SELECT with `COUNT` and no GROUP BY returns one row, so every column it names must be inside an
    /// aggregate (Msg 8120 in the list, 8127 in ORDER BY), as SQL Server checks when it compiles.
    private static func checkAggregates(_ select: TSQLSelect, line: Int) throws(TSQLError) {
        let aggregated =
            select.items.contains { item in
                switch item {
                case .star: false
                case .expression(let expression, _), .assignment(_, let expression, _): expression.containsAggregate
                }
            } || select.orderBy.contains { $0.0.containsAggregate }
        guard aggregated else { return }
        let table: String
        switch select.from {
        case .table(let name): table = "\(name)."
        case .systemTables: table = "tables."
        case .systemDatabases: table = "databases."
        case .systemDatabaseFiles: table = "database_files."
        case nil: table = ""
        }
        for item in select.items {
            switch item {
            case .star:
                throw .unsupported("SELECT * together with COUNT", line: line)
            case .expression(let expression, _), .assignment(_, let expression, _):
                if let column = expression.columnOutsideAggregate {
                    throw TSQLError(
                        .syntax,
                        number: 8120,
                        line: line,
                        message: "Column '\(table)\(column)' is invalid in the select list because it is not contained "
                            + "in either an aggregate function or the GROUP BY clause."
                    )
                }
            }
        }
        for (key, _) in select.orderBy {
            if let column = key.columnOutsideAggregate {
                throw TSQLError(
                    .syntax,
                    number: 8127,
                    line: line,
                    message:
                        "Column \"\(table)\(column)\" is invalid in the ORDER BY clause because it is not contained "
                        + "in either an aggregate function or the GROUP BY clause."
                )
            }
        }
    }

    private mutating func selectItem() throws(TSQLError) -> TSQLSelectItem {
        if accept(symbol: "*") { return .star }
        if let token = current, case .variable(let name) = token.kind, peekSymbol("=", offset: 1) {
            position += 2
            return .assignment(name, try expression(), line: token.line)
        }
        if let token = current, peekSymbol("=", offset: 1) {
            var alias: String?
            switch token.kind {
            case .quoted(let name): alias = name
            case .word(let name) where !Self.reserved.contains(name.uppercased()): alias = name
            default: break
            }
            if let alias {
                position += 2
                return .expression(try itemExpression(), alias: alias)
            }
        }
        let value = try itemExpression()
        if accept(keyword: "AS") {
            return .expression(value, alias: try aliasName())
        }
        if let token = current {
            switch token.kind {
            case .quoted, .string:
                return .expression(value, alias: try aliasName())
            case .word(let word) where !Self.reserved.contains(word.uppercased()):
                return .expression(value, alias: try aliasName())
            default:
                break
            }
        }
        return .expression(value, alias: nil)
    }

    /// A select-list expression: T-SQL has no boolean values, so a comparison here is a syntax error.
    private mutating func itemExpression() throws(TSQLError) -> TSQLExpression {
        let start = current
        let value = try expression()
        switch value {
        case .comparison, .and, .inList:
            throw .incorrectSyntax(near: start, line: lastLine)
        default:
            return value
        }
    }

    private mutating func aliasName() throws(TSQLError) -> String {
        if let token = current, case .string(let name) = token.kind {
            position += 1
            return name
        }
        return try identifier()
    }

    private mutating func parseDeclare() throws(TSQLError) -> TSQLStatement {
        var declarations: [(String, TSQLType, TSQLExpression?)] = []
        repeat {
            let name = try variable()
            _ = accept(keyword: "AS")
            let type = try typeName(defaultLength: 1)
            let initial: TSQLExpression? = accept(symbol: "=") ? try expression() : nil
            declarations.append((name, type, initial))
        } while accept(symbol: ",")
        return .declare(declarations)
    }

    /// A type; a character type without a length gets `defaultLength` (SQL Server: 1 in DECLARE, 30 in CONVERT).
    private mutating func typeName(defaultLength: Int) throws(TSQLError) -> TSQLType {
        guard let token = current, case .word(let word) = token.kind else { throw unexpected() }
        let name = word.uppercased()
        guard TSQLType.supportedNames.contains(name) else {
            throw .unsupported("The type \(name)", line: token.line)
        }
        position += 1
        var type = TSQLType(name: name, length: nil)
        if type.isText && name != "UNIQUEIDENTIFIER" && name != "SYSNAME" {
            type.length = defaultLength
        }
        if name == "SYSNAME" { type.length = 128 }
        if accept(symbol: "(") {
            if accept(keyword: "MAX") {
                type.length = nil
            } else if let number = current, case .number(let text) = number.kind, let value = Int(text) {
                position += 1
                type.length = type.isText ? value : nil
                if accept(symbol: ",") {
                    guard let scale = current, case .number = scale.kind else { throw unexpected() }
                    position += 1
                }
            } else {
                throw unexpected()
            }
            try expect(symbol: ")")
        }
        return type
    }

    private mutating func parseSet() throws(TSQLError) -> TSQLStatement {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        if case .variable(let name) = token.kind {
            position += 1
            guard accept(symbol: "=") else { throw unexpected() }
            return .setVariable(name, try expression())
        }
        guard case .word(let word) = token.kind else { throw unexpected() }
        let option = word.uppercased()
        guard option == "NOCOUNT" || option == "XACT_ABORT" else {
            throw .unsupported("SET \(option)", line: token.line)
        }
        position += 1
        if accept(keyword: "ON") { return .setOption(option, true) }
        if accept(keyword: "OFF") { return .setOption(option, false) }
        throw unexpected()
    }

    /// `[dbo].[Name]`, `dbo.Name`, `Name`, `sys.tables`, `sys.databases` or `sys.database_files`.
    private mutating func tableName() throws(TSQLError) -> TSQLTable {
        let line = current?.line ?? lastLine
        var parts = [try identifier()]
        while accept(symbol: ".") { parts.append(try identifier()) }
        switch parts.count {
        case 1:
            return .table(parts[0])
        case 2 where parts[0].lowercased() == "dbo":
            return .table(parts[1])
        case 2 where parts[0].lowercased() == "sys" && parts[1].lowercased() == "tables":
            return .systemTables
        case 2 where parts[0].lowercased() == "sys" && parts[1].lowercased() == "databases":
            return .systemDatabases
        case 2 where parts[0].lowercased() == "sys" && parts[1].lowercased() == "database_files":
            return .systemDatabaseFiles
        default:
            throw .unsupported(
                "The object name '\(parts.joined(separator: "."))' (only dbo tables, sys.tables, sys.databases and "
                    + "sys.database_files are)",
                line: line
            )
        }
    }

    private mutating func whereClause() throws(TSQLError) -> TSQLExpression? {
        guard accept(keyword: "WHERE") else { return nil }
        let outerContext = aggregateContext
        defer { aggregateContext = outerContext }
        aggregateContext = .whereClause
        return try expression()
    }

    // MARK: Expressions

    private mutating func expressionList() throws(TSQLError) -> [TSQLExpression] {
        var list: [TSQLExpression] = []
        repeat { list.append(try expression()) } while accept(symbol: ",")
        return list
    }

    mutating func expression() throws(TSQLError) -> TSQLExpression {
        var left = try comparison()
        while accept(keyword: "AND") {
            left = .and(left, try comparison())
        }
        return left
    }

    private mutating func comparison() throws(TSQLError) -> TSQLExpression {
        let left = try additive()
        if accept(symbol: "=") { return .comparison(left, "=", try additive()) }
        if accept(symbol: "<>") { return .comparison(left, "<>", try additive()) }
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            if let token = current, token.isKeyword("SELECT") {
                throw .unsupported("IN (SELECT …)", line: token.line)
            }
            let list = try expressionList()
            try expect(symbol: ")")
            return .inList(left, list)
        }
        return left
    }

    /// `a + b + …`: string concatenation or addition (the session decides by the operands' types).
    private mutating func additive() throws(TSQLError) -> TSQLExpression {
        try leftAssociative(
            "+",
            operand: { parser throws(TSQLError) in try parser.multiplicative() },
            combine: { .add($0, $1, line: $2) }
        )
    }

    /// `a * b * …`, binding tighter than `+`, as in SQL Server.
    private mutating func multiplicative() throws(TSQLError) -> TSQLExpression {
        try leftAssociative(
            "*",
            operand: { parser throws(TSQLError) in try parser.primary() },
            combine: { .multiply($0, $1, line: $2) }
        )
    }

    /// `operand symbol operand symbol …`, grouped from the left; `combine` gets both sides and the symbol's line.
    private mutating func leftAssociative(
        _ symbol: String,
        operand: (inout Self) throws(TSQLError) -> TSQLExpression,
        combine: (TSQLExpression, TSQLExpression, Int) -> TSQLExpression
    ) throws(TSQLError) -> TSQLExpression {
        var left = try operand(&self)
        while let token = current, token.kind == .symbol(symbol) {
            position += 1
            left = combine(left, try operand(&self), token.line)
        }
        return left
    }

    private mutating func primary() throws(TSQLError) -> TSQLExpression {
        guard let token = current else { throw .incorrectSyntax(near: nil, line: lastLine) }
        switch token.kind {
        case .string(let value):
            position += 1
            return .literal(.text(value))
        case .number(let text):
            position += 1
            if let integer = Int64(text) { return .literal(.integer(integer)) }
            if let real = Double(text) { return .literal(.real(real)) }
            throw .incorrectSyntax(near: token, line: token.line)
        case .variable(let name):
            position += 1
            return .variable(name, line: token.line)
        case .quoted(let name):
            position += 1
            return .column(name)
        case .symbol("("):
            position += 1
            if let next = current, next.isKeyword("SELECT") {
                throw .unsupported("A subquery", line: next.line)
            }
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .word(let word):
            let name = word.uppercased()
            if name == "NULL" {
                position += 1
                return .literal(.null)
            }
            if peekSymbol("(", offset: 1) {
                position += 2
                return try functionCall(name, line: token.line)
            }
            if name == "CASE" || name == "CAST" || name == "EXISTS" || name == "NOT" {
                throw .unsupported(name, line: token.line)
            }
            return .column(try identifier())
        default:
            throw unexpected()
        }
    }

    private mutating func functionCall(_ name: String, line: Int) throws(TSQLError) -> TSQLExpression {
        let arity: [String: Int] = [
            "JSON_VALUE": 2, "JSON_MODIFY": 3, "NEWID": 0, "LOWER": 1, "NCHAR": 1, "SYSUTCDATETIME": 0,
        ]
        if name == "COUNT" || name == "SUM" {
            return try aggregateCall(name, line: line)
        }
        if name == "CAST" {
            let value = try expression()
            try expect(keyword: "AS")
            let converted = try typeName(defaultLength: 30)
            try expect(symbol: ")")
            return .convert(converted, value)
        }
        if name == "CONVERT" {
            let converted = try typeName(defaultLength: 30)
            try expect(symbol: ",")
            let value = try expression()
            if peekSymbol(",") {
                throw .unsupported("CONVERT with a style argument", line: line)
            }
            try expect(symbol: ")")
            return .convert(converted, value)
        }
        guard let count = arity[name] else {
            throw .unsupported("The function \(name)()", line: line)
        }
        let arguments = accept(symbol: ")") ? [] : try expressionList()
        if !arguments.isEmpty { try expect(symbol: ")") }
        guard arguments.count == count else {
            throw TSQLError(
                .syntax,
                number: 174,
                line: line,
                message: "The \(name.lowercased()) function requires \(count) argument(s)."
            )
        }
        return .function(name, arguments)
    }

    /// `COUNT(*)`, `COUNT([ALL] expression)` or `SUM([ALL] expression)`, after the name and `(`.
    private mutating func aggregateCall(_ name: String, line: Int) throws(TSQLError) -> TSQLExpression {
        switch aggregateContext {
        case .selectList:
            break
        case .whereClause:
            throw TSQLError(
                .syntax,
                number: 147,
                line: line,
                message: "An aggregate may not appear in the WHERE clause unless it is in a subquery contained in a "
                    + "HAVING clause or a select list, and the column being aggregated is an outer reference."
            )
        case .insideAggregate:
            throw TSQLError(
                .syntax,
                number: 130,
                line: line,
                message: "Cannot perform an aggregate function on an expression containing an aggregate or a subquery."
            )
        case .elsewhere:
            throw .unsupported("\(name) outside a SELECT list or ORDER BY", line: line)
        }
        if name == "COUNT", accept(symbol: "*") {
            try expect(symbol: ")")
            return .count(nil)
        }
        if let token = current, token.isKeyword("DISTINCT") {
            throw .unsupported("\(name)(DISTINCT …)", line: token.line)
        }
        _ = accept(keyword: "ALL")
        aggregateContext = .insideAggregate
        let argument = try expression()
        aggregateContext = .selectList
        try expect(symbol: ")")
        return name == "COUNT" ? .count(argument) : .sum(argument, line: line)
    }
}

extension TSQLExpression {
    /// Whether a `COUNT` or `SUM` is in it.
    var containsAggregate: Bool {
        switch self {
        case .count, .sum: true
        case .literal, .column, .variable: false
        case .function(_, let arguments): arguments.contains { $0.containsAggregate }
        case .convert(_, let value): value.containsAggregate
        case .add(let left, let right, _), .multiply(let left, let right, _), .comparison(let left, _, let right),
            .and(let left, let right):
            left.containsAggregate || right.containsAggregate
        case .inList(let value, let list): value.containsAggregate || list.contains { $0.containsAggregate }
        }
    }

    /// The first column it names outside a `COUNT` or `SUM`, if any.
    var columnOutsideAggregate: String? {
        switch self {
        case .column(let name): name
        case .count, .sum, .literal, .variable: nil
        case .function(_, let arguments): arguments.lazy.compactMap(\.columnOutsideAggregate).first
        case .convert(_, let value): value.columnOutsideAggregate
        case .add(let left, let right, _), .multiply(let left, let right, _), .comparison(let left, _, let right),
            .and(let left, let right):
            left.columnOutsideAggregate ?? right.columnOutsideAggregate
        case .inList(let value, let list):
            value.columnOutsideAggregate ?? list.lazy.compactMap(\.columnOutsideAggregate).first
        }
    }
}
