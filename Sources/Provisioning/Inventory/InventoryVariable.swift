/// One template variable given in an inventory's `vars:` (of `defaults`, a group or a host) or with `--var`.
///
/// Values are text: a YAML number or boolean is kept as written (`8080`, `true`). The key path says where the
/// value came from, so that a problem with it names the right place.
public struct InventoryVariable: Sendable, Hashable {
    /// The value, as written.
    public var value: String
    /// The key path of the value, such as `groups.web.vars.sql_server`, or `--var sql_server` for the command
    /// line.
    public var keyPath: String
    /// Where the value is written (line 0 for the command line).
    public var location: SourceLocation

    /// Creates a variable.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - keyPath: Where it came from, as a key path.
    ///   - location: Where it is written.
    public init(value: String, keyPath: String, location: SourceLocation) {
        self.value = value
        self.keyPath = keyPath
        self.location = location
    }
}

/// `--var NAME=VALUE` values from the command line, parsed and checked like inventory `vars`.
public enum VariableOverrides {
    /// The location every command-line variable is reported at.
    public static let commandLine = SourceLocation(file: "--var", line: 0, column: 0)

    /// Parses `NAME=VALUE` arguments; a later value for the same name wins.
    ///
    /// - Parameter arguments: The `--var` values, in command-line order.
    /// - Returns: The variables by name, and one problem per malformed argument (a missing `=`, an invalid name,
    ///   a name octoprov derives itself, a name that looks like a secret).
    public static func parse(
        _ arguments: [String]
    ) -> (variables: [String: InventoryVariable], errors: [InventoryError]) {
        var variables: [String: InventoryVariable] = [:]
        var errors: [InventoryError] = []
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                errors.append(
                    InventoryError(
                        .invalidValue,
                        at: commandLine,
                        keyPath: "--var",
                        "`--var` takes `NAME=VALUE`; `\(argument.prefix(40))` has no `=`."
                    )
                )
                continue
            }
            let name = String(argument[..<equals])
            let keyPath = "--var \(name)"
            if let problem = VariableNames.problem(with: name, keyPath: keyPath) {
                errors.append(InventoryError(problem.code, at: commandLine, keyPath: keyPath, problem.message))
                continue
            }
            variables[name] = InventoryVariable(
                value: String(argument[argument.index(after: equals)...]),
                keyPath: keyPath,
                location: commandLine
            )
        }
        return (variables, errors)
    }
}

/// Rules for the names of `vars` and `--var`.
enum VariableNames {
    /// Words that mark a variable as a secret, which `vars` must never hold (vars are written into scripts).
    static let secretWords = [
        "password", "passphrase", "secret", "token", "apikey", "api_key", "masterkey", "master_key", "license",
        "licence", "credential",
    ]

    /// Why `name` cannot be set in `vars` or with `--var`, or `nil` when it can.
    static func problem(with name: String, keyPath: String) -> (code: InventoryError.Code, message: String)? {
        guard TemplateParser.isValidName(name) else {
            return (
                .invalidValue,
                "`\(keyPath)`: a variable name has ASCII letters, digits, `_` and `.`, and starts with a letter or `_`."
            )
        }
        let lowered = name.lowercased()
        if let word = secretWords.first(where: { lowered.contains($0) }) {
            return (
                .inlineSecret,
                "`\(keyPath)` looks like a secret (`\(word)`); variables are written into scripts, so secrets go in "
                    + "the instance's secret fields as `env:NAME` or `file:PATH` references instead."
            )
        }
        if let source = StepVariables.derivedNames[name] {
            return (
                .invalidValue,
                "`\(keyPath)` cannot be set: octoprov derives `\(name)` from \(source)."
            )
        }
        return nil
    }
}
