public import Foundation

/// The upgrade facts octoprov plans with: checkpoints, known broken direct paths, legacy routes and the
/// downgrade rule, each with the source it comes from.
///
/// They live in one data file, `Sources/Provisioning/Upgrade/upgrade-facts.json`, compiled into the binary
/// (SwiftPM's `embedInCode`), so `octoprov` carries them wherever it is copied. ``bundled`` is that file;
/// a malformed file is a programming error that the unit tests catch before it ships. docs/upgrade-path.md
/// describes the format.
public struct UpgradeFacts: Sendable, Hashable {
    /// Where the facts come from, for messages: the data file's path in the repository.
    public static let file = "Sources/Provisioning/Upgrade/upgrade-facts.json"

    /// How to read the source strings (`D:<path>`, `Issue #N`, `DSC:<path>`), one sentence each.
    public var sourceNotation: [String]
    /// Why a downgrade is refused and what to do instead.
    public var downgrade: UpgradeFact
    /// The supported routes from versions that cannot upgrade directly (1.x, 2.x).
    public var legacyRoutes: [UpgradeLegacyRoute]
    /// Direct upgrades known to break, with the versions to go through or use instead when there are any.
    public var brokenPaths: [UpgradeBrokenPath]
    /// The caveats of each version, in ascending version order.
    public var checkpoints: [UpgradeCaveat]

    /// The facts compiled into octoprov from ``file``.
    ///
    /// The file is checked by the unit tests, so a failure here is a bug in the build: it stops the program
    /// with the file's problem rather than planning with wrong facts.
    public static let bundled: UpgradeFacts = {
        do throws(UpgradeFactsError) {
            return try loadBundled()
        } catch {
            preconditionFailure(error.message)
        }
    }()

    /// Decodes and checks the facts compiled into octoprov.
    ///
    /// - Returns: The facts.
    /// - Throws: ``UpgradeFactsError`` naming the entry that is wrong.
    public static func loadBundled() throws(UpgradeFactsError) -> UpgradeFacts {
        try decode(Data(PackageResources.upgrade_facts_json))
    }

    /// Decodes and checks facts in the `upgrade-facts.json` format.
    ///
    /// Unknown keys are refused, so a misspelt optional key (`usInstead`) cannot silently change a fact.
    ///
    /// - Parameter data: The JSON text.
    /// - Returns: The facts.
    /// - Throws: ``UpgradeFactsError`` naming the entry that is wrong, such as
    ///   `brokenPaths[2].to: the range has no bound`.
    public static func decode(_ data: Data) throws(UpgradeFactsError) -> UpgradeFacts {
        let facts: UpgradeFacts
        do {
            facts = try JSONDecoder().decode(UpgradeFacts.self, from: data)
        } catch let error as DecodingError {
            throw UpgradeFactsError(decoding: error)
        } catch {
            throw UpgradeFactsError(path: "", problem: "\(error)")
        }
        try facts.validate()
        return facts
    }
}

/// A fact with no version of its own: a sentence and its source.
public struct UpgradeFact: Sendable, Hashable, Codable {
    /// The fact, written to follow a colon in a sentence.
    public var text: String
    /// Where it comes from, such as `D:src/shared-content/upgrade/upgrade-find-previous-version.include.md`.
    public var source: String
    /// `false` when the source does not state part of it (octopus-facts.md marks it **[UNCONFIRMED]**).
    public var confirmed: Bool

    private enum CodingKeys: String, CodingKey, CaseIterable { case text, source, confirmed }

    /// Decodes the fact, refusing unknown keys.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a missing, mistyped or unknown key.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        text = try container.decode(String.self, forKey: .text)
        source = try container.decode(String.self, forKey: .source)
        confirmed = try container.decode(Bool.self, forKey: .confirmed)
    }
}

/// A caveat of one version: something that changes when an upgrade crosses it.
///
/// A caveat without a ``range`` applies to an upgrade from `from` to `to` when `from < version <= to`. A caveat
/// with a range (the SQL Server 2017 requirement of 2020.2.0–2020.2.17) applies when the target or any
/// intermediate version of the path lies in the range, because only those builds have the requirement.
public struct UpgradeCaveat: Sendable, Hashable, Codable {
    /// A stable name, such as `3.5-config-in-database`.
    public var id: String
    /// The version that introduces it.
    public var version: OctopusVersion
    /// The builds it applies to, when only some builds have it.
    public var range: UpgradeVersionRange?
    /// A short title.
    public var title: String
    /// What changes and what to do, in one or two sentences.
    public var text: String
    /// Where it comes from; several sources are separated by `; `.
    public var source: String
    /// `false` when the source does not state part of it (octopus-facts.md marks it **[UNCONFIRMED]**).
    public var confirmed: Bool

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case id, version, range, title, text, source, confirmed
    }

    /// Creates a caveat.
    ///
    /// - Parameters:
    ///   - id: A stable name.
    ///   - version: The version that introduces it.
    ///   - range: The builds it applies to, or `nil` for every build from `version` on.
    ///   - title: A short title.
    ///   - text: What changes and what to do.
    ///   - source: Where it comes from.
    ///   - confirmed: Whether the source states all of it.
    public init(
        id: String,
        version: OctopusVersion,
        range: UpgradeVersionRange? = nil,
        title: String,
        text: String,
        source: String,
        confirmed: Bool
    ) {
        self.id = id
        self.version = version
        self.range = range
        self.title = title
        self.text = text
        self.source = source
        self.confirmed = confirmed
    }

    /// Decodes the caveat, refusing unknown keys.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a missing, mistyped or unknown key.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            version: try container.decode(OctopusVersion.self, forKey: .version),
            range: try container.decodeIfPresent(UpgradeVersionRange.self, forKey: .range),
            title: try container.decode(String.self, forKey: .title),
            text: try container.decode(String.self, forKey: .text),
            source: try container.decode(String.self, forKey: .source),
            confirmed: try container.decode(Bool.self, forKey: .confirmed)
        )
    }
}

/// A direct upgrade known to break: from a version in ``from`` straight to one in ``to``.
///
/// What to do is ``via`` (versions to go through), else ``useInstead`` (a version to take instead of the
/// target); with neither there is no documented way around it, and the planner reports it as a warning.
public struct UpgradeBrokenPath: Sendable, Hashable, Codable {
    /// A stable name, such as `issue-4509`.
    public var id: String
    /// The versions it breaks from; `nil` for any older version.
    public var from: UpgradeVersionRange?
    /// The versions it breaks to.
    public var to: UpgradeVersionRange
    /// The versions to upgrade through, ascending; empty when there are none.
    public var via: [UpgradeRelease]
    /// The version to upgrade to instead of a target in ``to``.
    public var useInstead: OctopusVersion?
    /// What breaks and what to do, in one sentence.
    public var text: String
    /// Where it comes from, such as `Issue #4509`.
    public var source: String
    /// `false` when the source does not state part of it (octopus-facts.md marks it **[UNCONFIRMED]**).
    public var confirmed: Bool

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case id, from, to, via, useInstead, text, source, confirmed
    }

    /// Whether upgrading straight from `start` to `end` is this broken path.
    ///
    /// - Parameters:
    ///   - start: The version upgraded from.
    ///   - end: The version upgraded to.
    /// - Returns: `true` when `start` is in ``from`` (or ``from`` is `nil`) and `end` is in ``to``.
    public func matches(from start: OctopusVersion, to end: OctopusVersion) -> Bool {
        (from?.contains(start) ?? true) && to.contains(end)
    }

    /// Decodes the broken path, refusing unknown keys.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a missing, mistyped or unknown key.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        from = try container.decodeIfPresent(UpgradeVersionRange.self, forKey: .from)
        to = try container.decode(UpgradeVersionRange.self, forKey: .to)
        via = try container.decodeIfPresent([UpgradeRelease].self, forKey: .via) ?? []
        useInstead = try container.decodeIfPresent(OctopusVersion.self, forKey: .useInstead)
        text = try container.decode(String.self, forKey: .text)
        source = try container.decode(String.self, forKey: .source)
        confirmed = try container.decode(Bool.self, forKey: .confirmed)
    }
}

/// The supported route from versions that cannot upgrade to any newer version directly (1.x and 2.x).
public struct UpgradeLegacyRoute: Sendable, Hashable, Codable {
    /// A stable name, such as `legacy-2.x`.
    public var id: String
    /// The versions that take this route.
    public var from: UpgradeVersionRange
    /// The versions to go through, ascending; after the last one any newer version is a direct upgrade.
    public var via: [UpgradeRelease]
    /// The route in one sentence.
    public var text: String
    /// Where it comes from.
    public var source: String
    /// `false` when the source does not state part of it.
    public var confirmed: Bool

    private enum CodingKeys: String, CodingKey, CaseIterable { case id, from, via, text, source, confirmed }

    /// Decodes the route, refusing unknown keys.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a missing, mistyped or unknown key.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        from = try container.decode(UpgradeVersionRange.self, forKey: .from)
        via = try container.decode([UpgradeRelease].self, forKey: .via)
        text = try container.decode(String.self, forKey: .text)
        source = try container.decode(String.self, forKey: .source)
        confirmed = try container.decode(Bool.self, forKey: .confirmed)
    }
}

/// A version a route names: one build (`3.17.14`) or a whole release line (`2018.10`, any of its builds).
///
/// Written in the data file as the string the sources use: `"3.17.14"` or `"2018.10"`.
public struct UpgradeRelease: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The build, or the first build of the release line (`2018.10.0` for `2018.10`).
    public var version: OctopusVersion
    /// Whether this names a release line rather than one build.
    public var isReleaseLine: Bool

    /// Creates a release.
    ///
    /// - Parameters:
    ///   - version: The build, or the first build of the line.
    ///   - isReleaseLine: Whether any build of `version`'s `MAJOR.MINOR` line will do.
    public init(version: OctopusVersion, isReleaseLine: Bool) {
        self.version = version
        self.isReleaseLine = isReleaseLine
    }

    /// Parses `MAJOR.MINOR` (a release line) or `MAJOR.MINOR.BUILD` (a build).
    ///
    /// - Parameter text: The release as written, such as `2018.10` or `3.17.14`.
    /// - Throws: ``VersionError`` when `text` is not two or three decimal numbers.
    public init(parsing text: String) throws(VersionError) {
        version = try OctopusVersion(parsingRelease: text)
        isReleaseLine = text.split(separator: ".", omittingEmptySubsequences: false).count == 2
    }

    /// `2018.10.x` for a release line, the version for a build.
    public var description: String {
        isReleaseLine ? "\(version.major).\(version.minor).x" : version.description
    }

    /// Whether every build this names is newer than every build `other` names.
    func comesAfter(_ other: UpgradeRelease) -> Bool {
        other.isReleaseLine
            ? (version.major, version.minor) > (other.version.major, other.version.minor) : isAfter(other.version)
    }

    /// Whether `version` is this build, or a build of this release line.
    ///
    /// - Parameter version: The version.
    /// - Returns: `true` for the build itself, or for any build of the `MAJOR.MINOR` line.
    public func names(_ version: OctopusVersion) -> Bool {
        isReleaseLine
            ? (version.major, version.minor) == (self.version.major, self.version.minor) : version == self.version
    }

    /// Whether every build this names is newer than `version`.
    func isAfter(_ version: OctopusVersion) -> Bool { self.version > version }

    /// Whether every build this names is older than `version`.
    func isBefore(_ version: OctopusVersion) -> Bool {
        isReleaseLine
            ? (self.version.major, self.version.minor) < (version.major, version.minor) : self.version < version
    }

    /// Decodes a release from its string.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` with the ``VersionError`` message.
    public init(from decoder: any Decoder) throws {
        self = try VersionError.decodeString(from: decoder) { text throws(VersionError) in try Self(parsing: text) }
    }

    /// Encodes the release as the data file writes it: `"2018.10"` or `"3.17.14"`.
    ///
    /// - Parameter encoder: The encoder.
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(isReleaseLine ? "\(version.major).\(version.minor)" : version.description)
    }
}

/// A set of consecutive versions: an optional lower bound (`atLeast`) and an optional upper bound, inclusive
/// (`atMost`) or exclusive (`below`).
///
/// Written in the data file as `{"atLeast": "2018.4.0", "atMost": "2018.5.4"}`, `{"below": "3.4.0"}` or
/// `{"atLeast": "2024.3.0"}`; at least one bound, never both upper bounds.
public struct UpgradeVersionRange: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The oldest version in the range.
    public var atLeast: OctopusVersion?
    /// The newest version in the range.
    public var atMost: OctopusVersion?
    /// The oldest version above the range.
    public var below: OctopusVersion?

    private enum CodingKeys: String, CodingKey, CaseIterable { case atLeast, atMost, below }

    /// Creates a range; give at least one bound and at most one of `atMost` and `below`.
    ///
    /// - Parameters:
    ///   - atLeast: The oldest version in the range.
    ///   - atMost: The newest version in the range.
    ///   - below: The oldest version above the range.
    public init(atLeast: OctopusVersion? = nil, atMost: OctopusVersion? = nil, below: OctopusVersion? = nil) {
        self.atLeast = atLeast
        self.atMost = atMost
        self.below = below
    }

    /// Whether `version` is in the range.
    ///
    /// - Parameter version: The version.
    /// - Returns: `true` when every bound holds.
    public func contains(_ version: OctopusVersion) -> Bool {
        if let atLeast, version < atLeast { return false }
        if let atMost, version > atMost { return false }
        if let below, version >= below { return false }
        return true
    }

    /// `2018.4.0–2018.5.4`, `before 3.4.0`, `2024.3.0 or later`, `2021.3.12912 or later, before 2022.1.0`.
    public var description: String {
        switch (atLeast, atMost, below) {
        case (let low?, let high?, _): low == high ? low.description : "\(low)–\(high)"
        case (let low?, nil, let high?): "\(low) or later, before \(high)"
        case (let low?, nil, nil): "\(low) or later"
        case (nil, let high?, _): "\(high) or earlier"
        case (nil, nil, let high?): "before \(high)"
        case (nil, nil, nil): "any version"
        }
    }

    /// The problem with the bounds, or `nil` when they make a range.
    var problem: String? {
        if atLeast == nil && atMost == nil && below == nil { return "the range has no bound" }
        if atMost != nil && below != nil { return "the range has both `atMost` and `below`" }
        if let atLeast, let atMost, atMost < atLeast { return "`atMost` \(atMost) is before `atLeast` \(atLeast)" }
        if let atLeast, let below, below <= atLeast { return "`below` \(below) is not after `atLeast` \(atLeast)" }
        return nil
    }

    /// Decodes the range, refusing unknown keys.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a mistyped or unknown key.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        atLeast = try container.decodeIfPresent(OctopusVersion.self, forKey: .atLeast)
        atMost = try container.decodeIfPresent(OctopusVersion.self, forKey: .atMost)
        below = try container.decodeIfPresent(OctopusVersion.self, forKey: .below)
    }
}

/// A problem in the upgrade facts file, naming the entry: `brokenPaths[2].to: the range has no bound`.
public struct UpgradeFactsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The entry, as a JSON path such as `checkpoints[3].version`; empty for the whole file.
    public var path: String
    /// What is wrong with it.
    public var problem: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - path: The entry, such as `checkpoints[3].version`.
    ///   - problem: What is wrong with it.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.reduce(into: "") { text, key in
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: path(context.codingPath + [key]), problem: "the key is missing")
        case .typeMismatch(let type, let context):
            self.init(path: path(context.codingPath), problem: "expected \(type)")
        case .valueNotFound(let type, let context):
            self.init(path: path(context.codingPath), problem: "expected \(type), found null")
        case .dataCorrupted(let context):
            self.init(path: path(context.codingPath), problem: context.debugDescription)
        @unknown default:
            self.init(path: "", problem: "\(error)")
        }
    }

    /// One sentence: `upgrade-facts.json at brokenPaths[2].to: the range has no bound; fix the data file.`
    public var message: String {
        let place = path.isEmpty ? UpgradeFacts.file : "\(UpgradeFacts.file) at \(path)"
        let trimmed = problem.hasSuffix(".") ? String(problem.dropLast()) : problem
        return "\(place): \(trimmed); fix the data file."
    }

    /// The message.
    public var description: String { message }
}

// MARK: - Decoding and checking

extension UpgradeFacts: Decodable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case format, about, sourceNotation, downgrade, legacyRoutes, brokenPaths, checkpoints
    }

    /// The format this code reads; a file with another `format` is refused.
    static let format = 1

    /// Decodes the facts, refusing unknown keys and formats other than ``format``.
    ///
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` for a missing, mistyped or unknown key or another format.
    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let format = try container.decode(Int.self, forKey: .format)
        guard format == Self.format else {
            throw DecodingError.dataCorruptedError(
                forKey: .format,
                in: container,
                debugDescription: "format \(format) is not the format \(Self.format) this octoprov reads"
            )
        }
        _ = try container.decode(String.self, forKey: .about)
        sourceNotation = try container.decode([String].self, forKey: .sourceNotation)
        downgrade = try container.decode(UpgradeFact.self, forKey: .downgrade)
        legacyRoutes = try container.decode([UpgradeLegacyRoute].self, forKey: .legacyRoutes)
        brokenPaths = try container.decode([UpgradeBrokenPath].self, forKey: .brokenPaths)
        checkpoints = try container.decode([UpgradeCaveat].self, forKey: .checkpoints)
    }

    /// Checks what JSON decoding cannot: texts and sources present, ids unique, ranges well formed, routes
    /// ascending, checkpoints in version order.
    func validate() throws(UpgradeFactsError) {
        func require(_ condition: Bool, _ path: String, _ problem: String) throws(UpgradeFactsError) {
            if !condition { throw UpgradeFactsError(path: path, problem: problem) }
        }
        func present(_ text: String, _ path: String) throws(UpgradeFactsError) {
            try require(!text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, path, "it is empty")
        }
        func range(_ range: UpgradeVersionRange?, _ path: String) throws(UpgradeFactsError) {
            if let problem = range?.problem { throw UpgradeFactsError(path: path, problem: problem) }
        }
        func ascending(_ releases: [UpgradeRelease], _ path: String) throws(UpgradeFactsError) {
            for (index, pair) in zip(releases, releases.dropFirst()).enumerated() {
                try require(
                    pair.1.comesAfter(pair.0),
                    "\(path)[\(index + 1)]",
                    "\(pair.1) does not come after \(pair.0)"
                )
            }
        }
        var ids: Set<String> = []
        func unique(_ id: String, _ path: String) throws(UpgradeFactsError) {
            try present(id, path)
            try require(ids.insert(id).inserted, path, "the id `\(id)` is used twice")
        }

        try present(downgrade.text, "downgrade.text")
        try present(downgrade.source, "downgrade.source")
        for (index, route) in legacyRoutes.enumerated() {
            let path = "legacyRoutes[\(index)]"
            try unique(route.id, "\(path).id")
            try range(route.from, "\(path).from")
            try require(route.from.atMost != nil || route.from.below != nil, "\(path).from", "it needs an upper bound")
            try require(!route.via.isEmpty, "\(path).via", "the route names no version")
            try ascending(route.via, "\(path).via")
            try present(route.text, "\(path).text")
            try present(route.source, "\(path).source")
        }
        for (index, broken) in brokenPaths.enumerated() {
            let path = "brokenPaths[\(index)]"
            try unique(broken.id, "\(path).id")
            try range(broken.from, "\(path).from")
            try range(broken.to, "\(path).to")
            try ascending(broken.via, "\(path).via")
            try require(broken.via.isEmpty || broken.useInstead == nil, path, "give `via` or `useInstead`, not both")
            if let instead = broken.useInstead {
                try require(!broken.to.contains(instead), "\(path).useInstead", "\(instead) is itself in `to`")
            }
            try present(broken.text, "\(path).text")
            try present(broken.source, "\(path).source")
        }
        var previous: OctopusVersion?
        for (index, caveat) in checkpoints.enumerated() {
            let path = "checkpoints[\(index)]"
            try unique(caveat.id, "\(path).id")
            try range(caveat.range, "\(path).range")
            if let range = caveat.range {
                try require(range.contains(caveat.version), "\(path).range", "it does not contain \(caveat.version)")
            }
            if let previous {
                try require(
                    previous <= caveat.version,
                    "\(path).version",
                    "\(caveat.version) comes before \(previous), so the checkpoints are out of version order"
                )
            }
            previous = caveat.version
            try present(caveat.title, "\(path).title")
            try present(caveat.text, "\(path).text")
            try present(caveat.source, "\(path).source")
        }
    }
}

/// Any key, to list the keys a JSON object really has.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Throws `DecodingError.dataCorrupted` when the object being decoded has a key `Keys` does not name.
private func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(_ decoder: any Decoder, _: Keys.Type) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    let known = Set(Keys.allCases.map(\.stringValue))
    if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
        let names = Keys.allCases.map { "`\($0.stringValue)`" }.joined(separator: ", ")
        throw DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: "unknown key `\(unknown)` (the keys are \(names))"
            )
        )
    }
}
