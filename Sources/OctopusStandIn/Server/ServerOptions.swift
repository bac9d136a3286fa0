import Foundation

/// One option a verb accepts, as Octopus's option parser declares it.
struct OptionSpec: Sendable {
    /// The name without dashes, in Octopus's spelling (`webListenPrefixes`); matched case-insensitively.
    var name: String
    /// Whether it takes a value (`--instance X`) or is a switch (`--create`).
    var takesValue: Bool
    /// The first version that has it, if not every version.
    var since: StandInVersion?
    /// The first version that no longer has it, if any.
    var until: StandInVersion?

    static func value(_ name: String, since: StandInVersion? = nil, until: StandInVersion? = nil) -> OptionSpec {
        OptionSpec(name: name, takesValue: true, since: since, until: until)
    }

    static func flag(_ name: String, since: StandInVersion? = nil, until: StandInVersion? = nil) -> OptionSpec {
        OptionSpec(name: name, takesValue: false, since: since, until: until)
    }

    func exists(in version: StandInVersion) -> Bool {
        since.map { version >= $0 } ?? true && until.map { version < $0 } ?? true
    }

    /// Accepted by every verb: `--console` ("don't attempt to run as a service"), `--nologo`,
    /// `--noconsolelogging`.
    static let common: [OptionSpec] = [.flag("console"), .flag("nologo"), .flag("noconsolelogging")]
    /// `--instance` and `--config`.
    static let instance: [OptionSpec] = [.value("instance"), .value("config")]
    /// The database check switches of configure, path, node, admin and database.
    static let skipChecks: [OptionSpec] = [
        .flag("skipDatabaseCompatibilityCheck"), .flag("skipDatabaseSchemaUpgradeCheck"),
    ]
}

/// A verb's parsed options. Names are looked up case-insensitively; a repeated option keeps every value.
struct ParsedOptions: Sendable {
    private var values: [String: [String]] = [:]
    private var switches: Set<String> = []

    /// The last value given for an option.
    func value(_ name: String) -> String? { values[name.lowercased()]?.last }

    /// Every value given for an option, in order.
    func all(_ name: String) -> [String] { values[name.lowercased()] ?? [] }

    /// Whether a switch was given.
    func has(_ name: String) -> Bool { switches.contains(name.lowercased()) }

    /// Whether an option was given at all (with or without a value).
    func given(_ name: String) -> Bool { has(name) || values[name.lowercased()] != nil }

    /// A `True`/`False` value (any case), as .NET's `bool.Parse` reads it.
    func bool(_ name: String) throws(OctopusServerError) -> Bool? {
        guard let text = value(name) else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            throw OctopusServerError(
                .usage,
                "The value '\(text)' given to --\(name) is not a boolean; use True or False."
            )
        }
    }

    /// A whole-number value.
    func integer(_ name: String, in range: ClosedRange<Int> = 0...Int.max) throws(OctopusServerError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw OctopusServerError(
                .usage,
                "The value '\(text)' given to --\(name) is not a whole number from \(range.lowerBound) to \(range.upperBound)."
            )
        }
        return number
    }

    /// Parses a verb's arguments like Octopus does: `--name value`, `--name=value`, `--name:value`, one or
    /// two dashes or a slash, names case-insensitive. Options the verb (at this version) does not have, and
    /// stray values, are collected and refused together: "Unrecognized command line arguments: …".
    static func parse(
        _ arguments: [String],
        specs: [OptionSpec],
        version: StandInVersion
    ) throws(OctopusServerError) -> ParsedOptions {
        var parsed = ParsedOptions()
        var unrecognized: [String] = []
        let known = Dictionary(
            specs.filter { $0.exists(in: version) }.map { ($0.name.lowercased(), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard let body = optionBody(argument) else {
                unrecognized.append(argument)
                continue
            }
            let separator = body.firstIndex { $0 == "=" || $0 == ":" }
            let name = String(separator.map { body[..<$0] } ?? body[...]).lowercased()
            let attached = separator.map { String(body[body.index(after: $0)...]) }
            guard let spec = known[name] else {
                unrecognized.append(argument)
                // A value following an unknown option belongs to it, as far as the person can tell.
                if attached == nil, index < arguments.count, optionBody(arguments[index]) == nil {
                    unrecognized.append(arguments[index])
                    index += 1
                }
                continue
            }
            if spec.takesValue {
                if let attached {
                    parsed.values[name, default: []].append(attached)
                } else if index < arguments.count {
                    parsed.values[name, default: []].append(arguments[index])
                    index += 1
                } else {
                    throw OctopusServerError(.usage, "Missing value for the option --\(spec.name).")
                }
            } else {
                guard attached == nil else {
                    unrecognized.append(argument)
                    continue
                }
                parsed.switches.insert(name)
            }
        }
        guard unrecognized.isEmpty else {
            throw OctopusServerError(
                .usage,
                "Unrecognized command line arguments: \(unrecognized.joined(separator: " "))"
            )
        }
        return parsed
    }

    /// The option name and value of `--x`, `-x` or `/x` (and `=v`/`:v`); `nil` for a plain value.
    private static func optionBody(_ argument: String) -> Substring? {
        for prefix in ["--", "-", "/"] where argument.hasPrefix(prefix) {
            let body = argument.dropFirst(prefix.count)
            guard let first = body.first, first.isLetter else { return nil }
            return body
        }
        return nil
    }
}
