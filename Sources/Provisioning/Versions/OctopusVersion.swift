/// A pinned Octopus Server version: exactly three dot-separated decimal parts, `MAJOR.MINOR.BUILD`.
///
/// Octopus numbered its releases 3.x and 4.x, then switched to `YEAR.RELEASE.BUILD` with 2018.1
/// (../shared/octopus-facts.md §5.1): `3.17.14`, `4.1.10`, `2018.10.1`, `2021.1.7500`, `2023.3.13058`. Both
/// schemes compare part by part as numbers, so `4.1.10 < 2018.1.0` holds as it should.
///
/// Parsing is strict, because a version pins a download and its SHA-256: exactly three parts, ASCII digits
/// only, and no leading zeros (`2021.01.1` is refused: Octopus never writes one, and accepting it would make
/// two spellings of one version). A four-part assembly version such as `2023.3.13058.1` is refused too; the
/// packages, the API's `Version` and the upgrade docs all use three parts.
public struct OctopusVersion: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The major part: 3 or 4, or the year from 2018 on.
    public let major: Int
    /// The minor part: the release within the major line.
    public let minor: Int
    /// The build (patch) part.
    public let build: Int

    /// Creates a version from its parts.
    ///
    /// - Parameters:
    ///   - major: The major part (3, 4, or a year).
    ///   - minor: The minor part.
    ///   - build: The build part.
    public init(major: Int, minor: Int, build: Int) {
        self.major = major
        self.minor = minor
        self.build = build
    }

    /// Parses `MAJOR.MINOR.BUILD`.
    ///
    /// - Parameter text: The version as written, such as `2023.3.13058`.
    /// - Throws: ``VersionError`` with code ``VersionError/Code/malformed`` when `text` is not exactly three
    ///   dot-separated decimal numbers without leading zeros.
    public init(parsing text: String) throws(VersionError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .malformed(text, reason: "it needs exactly three dot-separated numbers, like `2023.3.13058`")
        }
        let numbers = try Self.numbers(parts, in: text)
        self.init(major: numbers[0], minor: numbers[1], build: numbers[2])
    }

    /// Parses a version as people name a release: `MAJOR.MINOR.BUILD`, or `MAJOR.MINOR` for the first build of a
    /// release line (`2018.10` is `2018.10.0`).
    ///
    /// The upgrade facts and the people reading them write release lines such as `2018.10 LTS` or `3.3`; use
    /// ``init(parsing:)`` where a version pins a download.
    ///
    /// - Parameter text: The version as written, such as `2018.10` or `2023.3.13058`.
    /// - Throws: ``VersionError`` with code ``VersionError/Code/malformed`` when `text` is not two or three
    ///   dot-separated decimal numbers without leading zeros.
    public init(parsingRelease text: String) throws(VersionError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else {
            throw .malformed(
                text,
                reason: "it needs two or three dot-separated numbers, like `2018.10` or `2023.3.13058`"
            )
        }
        let numbers = try Self.numbers(parts, in: text)
        self.init(major: numbers[0], minor: numbers[1], build: numbers.count == 3 ? numbers[2] : 0)
    }

    /// The parts of `text` as numbers: ASCII digits only, no leading zeros, at most nine digits each.
    private static func numbers(_ parts: [Substring], in text: String) throws(VersionError) -> [Int] {
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else {
                throw .malformed(text, reason: "each part must be a decimal number, like `2023.3.13058`")
            }
            guard part == "0" || !part.hasPrefix("0") else {
                throw .malformed(text, reason: "a part must not have a leading zero")
            }
            guard part.utf8.count <= 9, let number = Int(part) else {
                throw .malformed(text, reason: "a part is too large")
            }
            numbers.append(number)
        }
        return numbers
    }

    /// `MAJOR.MINOR.BUILD`; parsing it gives back an equal version.
    public var description: String { "\(major).\(minor).\(build)" }

    /// Orders versions part by part, numerically.
    public static func < (lhs: OctopusVersion, rhs: OctopusVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.build) < (rhs.major, rhs.minor, rhs.build)
    }

    /// Decodes a version from a string such as `"2023.3.13058"`.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` (whose description is the ``VersionError`` message) when the
    ///   string is malformed.
    public init(from decoder: any Decoder) throws {
        self = try VersionError.decodeString(from: decoder) { text throws(VersionError) in try Self(parsing: text) }
    }

    /// Encodes the version as its ``description`` string.
    ///
    /// - Parameter encoder: The encoder.
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

// MARK: - Version-dependent behaviour

extension OctopusVersion {
    /// 3.0: the first "modern" version (SQL Server instead of RavenDB, the current Tentacle protocol); older
    /// versions need the legacy upgrade path through 2.6.5 and 2018.10 LTS (../shared/octopus-facts.md §5.1).
    public static let modern = OctopusVersion(major: 3, minor: 0, build: 0)
    /// 4.0: `database` runs before `configure` (../shared/octopus-facts.md §2.6, §5.3).
    public static let databaseBeforeConfigure = OctopusVersion(major: 4, minor: 0, build: 0)
    /// 2019.1: Spaces (../shared/octopus-facts.md §5.3).
    public static let spaces = OctopusVersion(major: 2019, minor: 1, build: 0)
    /// 2021.1: Export/Import Projects and the `Imports` folder (../shared/octopus-facts.md §4.5, §5.3).
    public static let exportImportProjects = OctopusVersion(major: 2021, minor: 1, build: 0)
    /// 2023.3: the `EventExports` folder (../shared/octopus-facts.md §1.2, §5.3).
    public static let eventExports = OctopusVersion(major: 2023, minor: 3, build: 0)

    /// Whether this is a "modern" Octopus (3.0 or later), which can be upgraded to any newer version directly;
    /// 1.x and 2.x must go through 2.6.5 and 2018.10 LTS first (../shared/octopus-facts.md §5.1).
    public var isModern: Bool { self >= .modern }

    /// Whether the server has Spaces (2019.1 or later): the API gains `/api/{spaceId}/…`, packages move to
    /// per-space folders and most tables gain a `SpaceId` column (../shared/octopus-facts.md §5.3).
    public var hasSpaces: Bool { self >= .spaces }

    /// Whether the server has Export/Import Projects (2021.1 or later; before that, Octopus.Migrator) and an
    /// `Imports` folder (../shared/octopus-facts.md §4.5, §5.3).
    public var hasExportImportProjects: Bool { self >= .exportImportProjects }

    /// Whether the server writes audit-log exports to an `EventExports` folder (2023.3 or later), which a clone
    /// must copy (../shared/octopus-facts.md §1.2, §5.3).
    public var hasEventExports: Bool { self >= .eventExports }

    /// Whether `Octopus.Server database --connectionString … --create` runs before `configure` (4.0 or later);
    /// before 4.0 the connection string and master key go on `configure --storageConnectionString` and
    /// `database --create` runs after it (../shared/octopus-facts.md §2.6).
    public var cliDatabaseBeforeConfigure: Bool { self >= .databaseBeforeConfigure }
}

/// A version string that is not `MAJOR.MINOR.BUILD`, written for the person at the terminal.
///
/// Compare errors by ``code``; the ``message`` is one sentence that names the value.
public struct VersionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case malformed
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The text is not three dot-separated decimal numbers without leading zeros.
        public static let malformed = Code(.malformed)

        /// The code's name, such as `malformed`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The text that was given.
    public var value: String
    /// One sentence naming the value, with no "Error:" prefix.
    public var message: String

    /// The message.
    public var description: String { message }

    static func malformed(_ value: String, reason: String) -> VersionError {
        let shown = value.isEmpty ? "An empty Octopus version" : "The Octopus version `\(value)`"
        return VersionError(code: .malformed, value: value, message: "\(shown) is not valid: \(reason).")
    }
}

extension VersionError {
    /// Decodes a single string and parses it with `parse`, for the `Decodable` versions.
    ///
    /// - Parameters:
    ///   - decoder: The decoder holding the string.
    ///   - parse: Reads the string, throwing ``VersionError`` when it is malformed.
    /// - Returns: What `parse` returns.
    /// - Throws: `DecodingError.dataCorrupted` with the ``VersionError`` message, or the decoder's error.
    static func decodeString<T>(from decoder: any Decoder, _ parse: (String) throws(VersionError) -> T) throws -> T {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            return try parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }
}
