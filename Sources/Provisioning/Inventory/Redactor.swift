import Foundation

/// Replaces every resolved secret value in text with `***`, for every line octoprov prints or writes.
///
/// A secret is matched as written and also in base64 (the form secrets take on a step script's stdin), so a
/// script that echoes its input by mistake is caught too. Longer secrets are replaced first, so a secret that
/// contains another is hidden whole. The redactor never reveals its secrets: its description only counts them.
public struct Redactor: Sendable, CustomStringConvertible {
    /// What a secret is replaced with.
    public static let mask = "***"

    /// The texts to hide, longest first.
    private let needles: [String]

    /// A redactor that hides nothing.
    public static let none = Redactor(secrets: [])

    /// Creates a redactor for `secrets`; empty values are ignored.
    ///
    /// - Parameter secrets: The resolved secret values.
    public init(secrets: [String]) {
        var needles: Set<String> = []
        for secret in secrets where !secret.isEmpty {
            needles.insert(secret)
            needles.insert(Data(secret.utf8).base64EncodedString())
        }
        self.needles = needles.sorted { ($0.count, $0) > ($1.count, $1) }
    }

    /// This redactor and `other`'s secrets together.
    ///
    /// - Parameter other: Another redactor.
    /// - Returns: A redactor hiding both sets.
    public func merging(_ other: Redactor) -> Redactor {
        Redactor(needles: Array(Set(needles).union(other.needles)))
    }

    private init(needles: [String]) {
        self.needles = needles.sorted { ($0.count, $0) > ($1.count, $1) }
    }

    /// How many texts are hidden (each secret counts once, and once more for its base64 form).
    public var count: Int { needles.count }

    /// `text` with every secret replaced by `***`.
    ///
    /// - Parameter text: A line (or more) about to be printed or written.
    /// - Returns: The text, redacted.
    public func redact(_ text: String) -> String {
        var result = text
        for needle in needles where result.contains(needle) {
            result = result.replacingOccurrences(of: needle, with: Self.mask)
        }
        return result
    }

    /// Whether `text` holds any secret.
    ///
    /// - Parameters:
    ///   - text: The text to look at.
    ///   - minimumLength: Ignore secrets (and base64 forms) shorter than this many characters, which would match
    ///     ordinary words.
    /// - Returns: `true` when a secret (or its base64 form) occurs in it.
    public func containsSecret(_ text: String, minimumLength: Int = 1) -> Bool {
        needles.contains { $0.count >= minimumLength && text.contains($0) }
    }

    /// `Redactor(N texts)`: never the secrets.
    public var description: String { "Redactor(\(needles.count) texts)" }
}
