import Foundation

/// Runs a sqlcmd invocation against the stand-in: reads the `-i` files (or `-Q`), substitutes `$(var)`
/// scripting variables (unless `-x`), splits batches at `GO` lines and runs each in one ``TSQLSession``,
/// whose result sets are laid out as `-h`, `-W` and `-s` say.
///
/// Exit codes follow sqlcmd: without `-b` an error is printed and the script goes on, exiting 0; with
/// `-b` the first error stops the script and the exit code is 1. Failing to connect, an unreadable
/// input file and an undefined scripting variable always stop with exit code 1.
public struct Sqlcmd {
    /// The parsed command line.
    public var options: SqlcmdOptions
    /// Where the servers' databases are.
    public var dataFolder: DataFolder
    /// Scripting variables also come from the environment, as in sqlcmd (`-v` wins).
    public var environment: [String: String]

    /// - Parameters:
    ///   - options: The parsed command line.
    ///   - dataFolder: Where the servers' databases are.
    ///   - environment: The process environment.
    public init(options: SqlcmdOptions, dataFolder: DataFolder, environment: [String: String] = [:]) {
        self.options = options
        self.dataFolder = dataFolder
        self.environment = environment
    }

    /// One piece of script: a `-i` file or the `-Q` query.
    struct Source {
        var name: String
        var text: String
    }

    /// A batch and where it starts in its source.
    struct Batch: Equatable {
        var text: String
        var firstLine: Int
    }

    /// Runs the invocation.
    /// - Parameter output: Receives each line sqlcmd would print on standard output (result sets,
    ///   messages and errors, as sqlcmd prints errors there too).
    /// - Returns: The process exit code.
    public func run(output: (String) -> Void) -> Int32 {
        let session: TSQLSession
        do {
            session = try TSQLSession(
                dataFolder: dataFolder,
                server: options.server,
                database: options.database ?? "master"
            )
        } catch {
            // sqlcmd reports a failed connection or login as a driver error, not as a server message.
            output("Sqlcmd: Error: Microsoft ODBC Driver 18 for SQL Server : \(error.message)")
            return 1
        }
        session.layout = options.layout
        var sources: [Source] = []
        if let query = options.query {
            sources.append(Source(name: "-Q", text: query))
        }
        for file in options.inputFiles {
            guard let data = FileManager.default.contents(atPath: file), let text = Self.decode(data) else {
                output(
                    "Sqlcmd: Error: Error occurred while opening or operating on file \(file) "
                        + "(Reason: The system cannot find the file specified)."
                )
                return 1
            }
            sources.append(Source(name: file, text: text))
        }
        for source in sources {
            for batch in Self.batches(source.text) {
                var text = batch.text
                if options.substitutesVariables {
                    switch substitute(batch.text) {
                    case .success(let substituted):
                        text = substituted
                    case .failure(let name):
                        output("'\(name.name)' scripting variable not defined.")
                        return 1
                    }
                }
                do {
                    try session.execute(batch: text, output: output)
                } catch {
                    let fileLine = batch.firstLine + error.line - 1
                    let location = source.name == "-Q" ? "-Q, line \(fileLine)" : "\(source.name), line \(fileLine)"
                    SqlcmdFormat.message(error, server: options.server, location: location).forEach(output)
                    if options.exitOnError && error.level > 10 { return 1 }
                }
            }
        }
        return 0
    }

    /// Splits a script at lines holding only `GO` (any case, surrounding blanks allowed).
    static func batches(_ text: String) -> [Batch] {
        var batches: [Batch] = []
        var current: [Substring] = []
        var firstLine = 1
        // "\r\n" is one Character in Swift, so split on every newline, not on "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (offset, line) in lines.enumerated() {
            if line.trimmingCharacters(in: .whitespaces).uppercased() == "GO" {
                batches.append(Batch(text: current.joined(separator: "\n"), firstLine: firstLine))
                current = []
                firstLine = offset + 2
            } else {
                current.append(line)
            }
        }
        if current.contains(where: { !$0.allSatisfy(\.isWhitespace) }) {
            batches.append(Batch(text: current.joined(separator: "\n"), firstLine: firstLine))
        }
        return batches
    }

    /// Replaces every `$(name)`; `.failure` names the first undefined variable.
    func substitute(_ text: String) -> Result<String, UndefinedVariable> {
        var result = ""
        var rest = Substring(text)
        while let start = rest.firstRange(of: "$(") {
            result += rest[..<start.lowerBound]
            let afterOpen = rest[start.upperBound...]
            guard let close = afterOpen.firstIndex(of: ")") else {
                result += rest[start.lowerBound...]
                return .success(result)
            }
            let name = String(afterOpen[..<close])
            guard let value = lookup(name) else { return .failure(UndefinedVariable(name: name)) }
            result += value
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        result += rest
        return .success(result)
    }

    /// The name of an undefined scripting variable.
    struct UndefinedVariable: Error {
        var name: String
    }

    private func lookup(_ name: String) -> String? {
        let upper = name.uppercased()
        if let value = options.variables[upper] { return value }
        switch upper {
        case "SQLCMDSERVER": return options.server
        case "SQLCMDDBNAME": return options.database ?? "master"
        case "SQLCMDUSER": return options.user ?? ""
        default: break
        }
        return environment[name] ?? environment.first { $0.key.uppercased() == upper }?.value
    }

    /// UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark, as sqlcmd reads.
    static func decode(_ data: Data) -> String? {
        if data.starts(with: [0xFF, 0xFE]) || data.starts(with: [0xFE, 0xFF]) {
            return String(data: data, encoding: .utf16)
        }
        let bytes = data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data
        return String(data: bytes, encoding: .utf8)
    }
}
