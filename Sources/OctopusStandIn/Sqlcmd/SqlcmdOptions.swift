/// A sqlcmd command line the stand-in understands, parsed like Microsoft's sqlcmd: single-dash flags,
/// each value either attached (`-Slocalhost`) or the next argument (`-S localhost`).
public struct SqlcmdOptions: Sendable, Equatable {
    /// `-S`; `localhost` (the default instance) when absent.
    public var server = "localhost"
    /// `-d`; the login's default database (`master`) when absent.
    public var database: String?
    /// `-E`: Windows (trusted) authentication.
    public var trustedConnection = false
    /// `-U`.
    public var user: String?
    /// `-P`, or `SQLCMDPASSWORD` from the environment.
    public var password: String?
    /// `-i`, repeatable and comma-separated, in order.
    public var inputFiles: [String] = []
    /// `-Q`: run this query and exit.
    public var query: String?
    /// `-b`: stop at the first error and exit 1.
    public var exitOnError = false
    /// `-v name=value`, names upper-cased (sqlcmd variable names are case-insensitive).
    public var variables: [String: String] = [:]
    /// `-x` turns this off: `$(name)` is left as it is, so a value that looks like a scripting variable
    /// inside a string literal stays literal.
    public var substitutesVariables = true
    /// `-h`, `-W` and `-s`: how result sets are laid out.
    public var layout = SqlcmdLayout()

    /// sqlcmd's defaults: the local default instance, no database, no input.
    public init() {}

    /// Parses sqlcmd's arguments (without the program name).
    /// - Parameters:
    ///   - arguments: e.g. `["-S", "localhost", "-d", "OctopusDeploy", "-b", "-i", "disable.sql"]`.
    ///   - environment: Read for `SQLCMDPASSWORD`, `SQLCMDSERVER` and `SQLCMDDBNAME`.
    /// - Returns: The options.
    /// - Throws: ``SqlcmdUsageError`` for an unknown flag, a missing value, conflicting flags, or a mode
    ///   the stand-in does not have (interactive, prompting for a password).
    public static func parse(
        _ arguments: [String],
        environment: [String: String] = [:]
    ) throws(SqlcmdUsageError) -> SqlcmdOptions {
        var options = SqlcmdOptions()
        if let server = environment["SQLCMDSERVER"], !server.isEmpty { options.server = server }
        if let database = environment["SQLCMDDBNAME"], !database.isEmpty { options.database = database }
        var index = 0
        func value(for flag: String, attached: Substring) throws(SqlcmdUsageError) -> String {
            if !attached.isEmpty { return String(attached) }
            index += 1
            guard index < arguments.count,
                !arguments[index].hasPrefix("-") || flag == "-Q" || flag == "-P" || flag == "-s"
                    || (flag == "-h" && Int(arguments[index]) != nil)
            else {
                throw SqlcmdUsageError("'\(flag)': Missing argument. Enter '-?' for help.")
            }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("-") || argument.hasPrefix("/"), argument.count >= 2 else {
                throw SqlcmdUsageError("'\(argument)': Unexpected argument. Enter '-?' for help.")
            }
            let flag = String(argument.prefix(2))
            let attached = argument.dropFirst(2)
            switch flag.dropFirst() {
            case "S": options.server = try value(for: flag, attached: attached)
            case "d": options.database = try value(for: flag, attached: attached)
            case "U": options.user = try value(for: flag, attached: attached)
            case "P": options.password = try value(for: flag, attached: attached)
            case "Q": options.query = try value(for: flag, attached: attached)
            case "i":
                let files = try value(for: flag, attached: attached).split(separator: ",").map(String.init)
                options.inputFiles += files
            case "v":
                var assignments = attached.isEmpty ? [] : [String(attached)]
                while index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-"),
                    arguments[index + 1].contains("=")
                {
                    index += 1
                    assignments.append(arguments[index])
                }
                guard !assignments.isEmpty else {
                    throw SqlcmdUsageError("'-v': Missing argument. Enter '-?' for help.")
                }
                for assignment in assignments {
                    let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, !parts[0].isEmpty,
                        parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
                    else {
                        throw SqlcmdUsageError("'-v \(assignment)': Invalid argument. Enter '-?' for help.")
                    }
                    options.variables[parts[0].uppercased()] = String(parts[1])
                }
            case "h":
                let text = try value(for: flag, attached: attached)
                guard let rows = Int(text), rows == -1 || (1...Int(Int32.max)).contains(rows) else {
                    throw SqlcmdUsageError(
                        "'-h': header value must be either -1 or a value between 1 and 2147483647."
                    )
                }
                options.layout.headers = rows == -1 ? .none : .every(rows)
            case "s":
                let text = try value(for: flag, attached: attached)
                guard text.count == 1, let separator = text.first else {
                    throw SqlcmdUsageError("'-s \(text)': Invalid argument. Enter '-?' for help.")
                }
                options.layout.columnSeparator = separator
            case "E" where attached.isEmpty: options.trustedConnection = true
            case "b" where attached.isEmpty: options.exitOnError = true
            case "x" where attached.isEmpty: options.substitutesVariables = false
            case "W" where attached.isEmpty: options.layout.trimsTrailingSpaces = true
            default:
                throw SqlcmdUsageError("'\(argument)': Unknown Option. Enter '-?' for help.")
            }
            index += 1
        }
        if options.password == nil, let password = environment["SQLCMDPASSWORD"] { options.password = password }
        if options.trustedConnection && options.user != nil {
            throw SqlcmdUsageError("The -E and the -U/-P options are mutually exclusive.")
        }
        if options.user != nil && options.password == nil {
            throw SqlcmdUsageError(
                "-U without -P or SQLCMDPASSWORD would prompt for a password, which is not supported by the stand-in.",
                code: .unsupportedMode
            )
        }
        if !options.inputFiles.isEmpty && options.query != nil {
            throw SqlcmdUsageError("The -i and the -Q options are mutually exclusive.")
        }
        if options.inputFiles.isEmpty && options.query == nil {
            throw SqlcmdUsageError(
                "Interactive mode (neither -i nor -Q) is not supported by the stand-in.",
                code: .unsupportedMode
            )
        }
        return options
    }
}

/// A sqlcmd command line the stand-in cannot run; sqlcmd prints it as `Sqlcmd: <message>` and exits 1.
public struct SqlcmdUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong (a struct around a private enum, so new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidArguments
            case unsupportedMode
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// An unknown flag, a missing value, or flags that exclude each other, as sqlcmd would refuse.
        public static let invalidArguments = Code(.invalidArguments)
        /// Something sqlcmd does that the stand-in does not: interactive mode, a password prompt.
        public static let unsupportedMode = Code(.unsupportedMode)

        public var description: String { base.rawValue }
    }

    /// Compare errors by code, never by message.
    public var code: Code
    /// One sentence, worded like sqlcmd's.
    public var message: String

    init(_ message: String, code: Code = .invalidArguments) {
        self.code = code
        self.message = message
    }

    public var description: String { "Sqlcmd: \(message)" }
}
