/// A T-SQL token with the batch line it starts on (1-based, as SQL Server counts).
struct TSQLToken: Equatable {
    enum Kind: Equatable {
        /// A bare identifier or keyword (compare with ``TSQLToken/isKeyword(_:)``).
        case word(String)
        /// A `[bracketed]` identifier.
        case quoted(String)
        /// `@name` (without the `@`).
        case variable(String)
        /// `'…'` or `N'…'`, doubled quotes undone.
        case string(String)
        case number(String)
        /// `(`, `)`, `,`, `.`, `=`, `<>`, `*`, `;` and any other punctuation.
        case symbol(String)
    }
    var kind: Kind
    var line: Int

    func isKeyword(_ keyword: String) -> Bool {
        if case .word(let word) = kind { return word.uppercased() == keyword }
        return false
    }

    /// The token as SQL Server quotes it in "Incorrect syntax near '…'".
    var text: String {
        switch kind {
        case .word(let word): word
        case .quoted(let name): name
        case .variable(let name): "@\(name)"
        case .string(let value): value
        case .number(let value): value
        case .symbol(let symbol): symbol
        }
    }
}

/// Splits one batch into tokens, dropping `--` and `/* */` comments.
enum TSQLLexer {
    static func tokenize(_ batch: String) throws(TSQLError) -> [TSQLToken] {
        let characters = Array(batch)
        var tokens: [TSQLToken] = []
        var index = 0
        var line = 1
        func peek(_ offset: Int = 0) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while let character = peek() {
            let start = line
            if character.isNewline {
                line += 1
                index += 1
            } else if character.isWhitespace {
                index += 1
            } else if character == "-" && peek(1) == "-" {
                while let next = peek(), !next.isNewline { index += 1 }
            } else if character == "/" && peek(1) == "*" {
                index += 2
                while peek() != nil && !(peek() == "*" && peek(1) == "/") {
                    if peek()?.isNewline == true { line += 1 }
                    index += 1
                }
                guard peek() != nil else {
                    throw .syntax("Missing end comment mark '*/'.", line: start, number: 113)
                }
                index += 2
            } else if character == "'" || ((character == "N" || character == "n") && peek(1) == "'") {
                index += character == "'" ? 1 : 2
                var value = ""
                while true {
                    guard let next = peek() else {
                        throw .syntax(
                            "Unclosed quotation mark after the character string '\(value)'.",
                            line: start,
                            number: 105
                        )
                    }
                    index += 1
                    if next == "'" {
                        if peek() == "'" {
                            value.append("'")
                            index += 1
                        } else {
                            break
                        }
                    } else {
                        if next.isNewline { line += 1 }
                        value.append(next)
                    }
                }
                tokens.append(TSQLToken(kind: .string(value), line: start))
            } else if character == "[" {
                index += 1
                var name = ""
                while true {
                    guard let next = peek() else {
                        throw .syntax(
                            "Unclosed quotation mark after the identifier '\(name)'.",
                            line: start,
                            number: 105
                        )
                    }
                    index += 1
                    if next == "]" {
                        if peek() == "]" {
                            name.append("]")
                            index += 1
                        } else {
                            break
                        }
                    } else {
                        name.append(next)
                    }
                }
                tokens.append(TSQLToken(kind: .quoted(name), line: start))
            } else if character == "@" || character.isLetter || character == "_" || character == "#" {
                index += 1
                var word = character == "@" ? "" : String(character)
                while let next = peek(),
                    next.isLetter || next.isNumber || next == "_" || next == "@" || next == "#"
                        || next == "$"
                {
                    word.append(next)
                    index += 1
                }
                tokens.append(TSQLToken(kind: character == "@" ? .variable(word) : .word(word), line: start))
            } else if character.isNumber {
                var number = ""
                while let next = peek(), next.isNumber || next == "." {
                    number.append(next)
                    index += 1
                }
                tokens.append(TSQLToken(kind: .number(number), line: start))
            } else {
                let pair = peek(1).map { String([character, $0]) } ?? ""
                let symbol = ["<>", "!=", "<=", ">=", "+=", "-=", "::"].contains(pair) ? pair : String(character)
                index += symbol.count
                tokens.append(TSQLToken(kind: .symbol(symbol), line: start))
            }
        }
        return tokens
    }
}
