import Foundation

/// An Octopus Server version as the stand-in understands it: two to four dot-separated numbers,
/// e.g. `3.17.14`, `4.1`, `2018.10.0`, `2023.3.13026` (octopus-facts.md §5.1).
///
/// Versions compare number by number, a missing number counting as 0 (`4.1` == `4.1.0`). The text is
/// kept as written for messages and files.
public struct StandInVersion: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The numbers, most significant first (2 to 4 of them).
    public let components: [Int]
    /// The version as written, e.g. `2023.3.13026`.
    public let description: String

    /// Parses a version.
    /// - Parameter text: e.g. `2023.3.13026`; surrounding blanks are ignored.
    /// - Returns: `nil` unless the text is 2 to 4 dot-separated non-negative numbers.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...4).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 9, part.allSatisfy(\.isASCIIDigit), let number = Int(part) else {
                return nil
            }
            numbers.append(number)
        }
        components = numbers
        description = trimmed
    }

    /// The major number (`2023` in `2023.3.13026`).
    public var major: Int { components[0] }
    /// The minor number (`3` in `2023.3.13026`).
    public var minor: Int { components[1] }
    /// The patch or build number (`13026` in `2023.3.13026`), 0 when absent.
    public var patch: Int { components.count > 2 ? components[2] : 0 }

    /// `major.minor`, e.g. `2023.3`.
    public var majorMinor: String { "\(major).\(minor)" }

    /// `major.minor.patch`, e.g. `2023.3.13026` (`4.1.0` for `4.1`).
    public var majorMinorPatch: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: StandInVersion, rhs: StandInVersion) -> Bool {
        for index in 0..<max(lhs.components.count, rhs.components.count) {
            let left = index < lhs.components.count ? lhs.components[index] : 0
            let right = index < rhs.components.count ? rhs.components[index] : 0
            if left != right { return left < right }
        }
        return false
    }

    public static func == (lhs: StandInVersion, rhs: StandInVersion) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    public func hash(into hasher: inout Hasher) {
        var trimmed = components
        while trimmed.count > 2 && trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let version = StandInVersion(text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "Not a version: \(text)")
            )
        }
        self = version
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// A version known to be valid, for the constants in this module.
    static func known(_ text: String) -> StandInVersion {
        guard let version = StandInVersion(text) else { preconditionFailure("Invalid built-in version \(text)") }
        return version
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
