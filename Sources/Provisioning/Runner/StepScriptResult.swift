import Foundation

/// What a step script reported on its last line of standard output (docs/steps.md, "How a script talks back"):
/// `OCTOPROV-RESULT {"changed":true,"message":"…","facts":{"k":"v"}}`.
public struct StepScriptResult: Sendable, Hashable {
    /// The marker that starts the result line.
    public static let marker = "OCTOPROV-RESULT "

    /// Whether the script changed something on the host.
    public var changed: Bool
    /// The script's one-line summary.
    public var message: String
    /// What the script found out, as strings.
    public var facts: [String: String]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - changed: Whether the script changed something.
    ///   - message: The summary.
    ///   - facts: What it found out.
    public init(changed: Bool, message: String, facts: [String: String] = [:]) {
        self.changed = changed
        self.message = message
        self.facts = facts
    }

    /// Parses the result line out of a script's standard output: the last non-empty line must be the result.
    ///
    /// - Parameter output: The script's whole standard output.
    /// - Returns: The result, or `nil` when the last line is not a well-formed result.
    public static func parse(output: String) -> StepScriptResult? {
        guard
            let last = output.split(whereSeparator: \.isNewline).last(where: {
                !$0.allSatisfy(\.isWhitespace)
            }),
            last.hasPrefix(marker)
        else { return nil }
        let json = Data(last.dropFirst(marker.count).utf8)
        // Not JSON is one of the ways a last line is not a result line; the caller says so in words.
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let changed = object["changed"] as? Bool,
            let message = object["message"] as? String
        else { return nil }
        var facts: [String: String] = [:]
        if let raw = object["facts"] as? [String: Any] {
            for (key, value) in raw {
                guard let text = value as? String else { return nil }
                facts[key] = text
            }
        } else if object["facts"] != nil {
            return nil
        }
        return StepScriptResult(changed: changed, message: message, facts: facts)
    }
}
