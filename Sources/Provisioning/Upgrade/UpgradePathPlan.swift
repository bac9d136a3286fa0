/// How to upgrade an Octopus Server from one version to another, from the documented facts: the versions to go
/// through, the caveats crossed and the known problems on the way, each with its source.
///
/// Made by ``UpgradePathPlanner/plan(from:to:facts:)`` without touching any host. The semantics:
/// - ``hops`` are the versions to install in order, ending at ``to``. An intermediate hop comes from a legacy
///   route (1.x and 2.x go through 2.6.5 and 2018.10 LTS) or from a known broken direct path (before 3.4 to
///   2018.4.0–2018.5.4 goes through 3.4.15 and 3.17.14), and carries that fact's text and source. A legacy hop
///   that is not older than the target is left out: the route stops at the target.
/// - ``caveats`` are the checkpoints crossed: one at version `c` applies when `from < c <= to`; one limited to
///   a range of builds applies when a hop (the target included) lands in that range.
/// - ``warnings`` are known problems with no documented way around them on one of the upgrade steps (each
///   consecutive pair of `from` and the hops), and a note when the target lies below the legacy route.
/// - ``detour`` says why upgrading straight from ``from`` to ``to`` is not the documented way, and what to do
///   first, when that is so.
public struct UpgradePlan: Sendable, Hashable, Codable {
    /// The version upgraded from.
    public var from: OctopusVersion
    /// The version upgraded to.
    public var to: OctopusVersion
    /// The versions to install in order; the last one is ``to``.
    public var hops: [UpgradeHop]
    /// The caveats crossed, in version order.
    public var caveats: [UpgradeCaveat]
    /// Known problems on the way with no documented workaround: the note that the target lies below a legacy
    /// route first, then each step's problems in path order.
    public var warnings: [UpgradeWarning]
    /// Why the direct upgrade from ``from`` to ``to`` is not the documented way, or `nil` when it is.
    public var detour: UpgradeDetour?

    /// Creates a plan.
    ///
    /// - Parameters:
    ///   - from: The version upgraded from.
    ///   - to: The version upgraded to.
    ///   - hops: The versions to install in order, ending at `to`.
    ///   - caveats: The caveats crossed.
    ///   - warnings: Known problems without a workaround.
    ///   - detour: Why the direct upgrade is not the documented way.
    public init(
        from: OctopusVersion,
        to: OctopusVersion,
        hops: [UpgradeHop],
        caveats: [UpgradeCaveat],
        warnings: [UpgradeWarning],
        detour: UpgradeDetour?
    ) {
        self.from = from
        self.to = to
        self.hops = hops
        self.caveats = caveats
        self.warnings = warnings
        self.detour = detour
    }

    /// Whether upgrading straight from ``from`` to ``to`` is a known broken or unsupported path; ``detour`` then
    /// names the version to upgrade to first (or instead), so that `octoprov upgrade --to` can refuse it.
    public var isDirectPathBroken: Bool { detour != nil }

    /// The hops before the target: the versions to install on the way.
    public var intermediates: [UpgradeHop] { Array(hops.dropLast()) }
}

/// One version to install on the way to the target.
public struct UpgradeHop: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The version, or the first build of a release line (`2018.10.0` for `2018.10`).
    public var version: OctopusVersion
    /// Whether any build of the `MAJOR.MINOR` line will do (the sources name `2018.10 LTS`, not a build); the
    /// caller picks the build, for example the newest one its package mirror has.
    public var isReleaseLine: Bool
    /// Whether this is the target (the last hop) rather than a version on the way.
    public var isTarget: Bool
    /// The id of the fact that asks for an intermediate hop (`issue-4509`, `legacy-2.x`); `nil` for the target.
    public var factID: String?
    /// Why an intermediate hop is needed, in one sentence; `nil` for the target.
    public var reason: String?
    /// Where that reason comes from, such as `Issue #4509`; `nil` for the target.
    public var source: String?
    /// `false` when the source does not state all of the reason.
    public var confirmed: Bool

    /// Creates a hop.
    ///
    /// - Parameters:
    ///   - version: The version, or the first build of a release line.
    ///   - isReleaseLine: Whether any build of the line will do.
    ///   - isTarget: Whether this is the target.
    ///   - factID: The id of the fact that asks for an intermediate hop.
    ///   - reason: Why an intermediate hop is needed.
    ///   - source: Where the reason comes from.
    ///   - confirmed: Whether the source states all of the reason.
    public init(
        version: OctopusVersion,
        isReleaseLine: Bool = false,
        isTarget: Bool = false,
        factID: String? = nil,
        reason: String? = nil,
        source: String? = nil,
        confirmed: Bool = true
    ) {
        self.version = version
        self.isReleaseLine = isReleaseLine
        self.isTarget = isTarget
        self.factID = factID
        self.reason = reason
        self.source = source
        self.confirmed = confirmed
    }

    /// The release as an ``UpgradeRelease`` (build or release line).
    public var release: UpgradeRelease { UpgradeRelease(version: version, isReleaseLine: isReleaseLine) }

    /// `2018.10.x` for a release line, the version for a build.
    public var description: String { release.description }
}

/// A known problem on one upgrade step that has no documented way around it.
public struct UpgradeWarning: Sendable, Hashable, Codable {
    /// The fact's id in the data file, such as `issue-7790`.
    public var id: String
    /// The version the step starts from.
    public var from: OctopusVersion
    /// The version the step ends at.
    public var to: OctopusVersion
    /// The problem, in one sentence.
    public var text: String
    /// Where it comes from, such as `Issue #7790`.
    public var source: String
    /// `false` when the source does not state all of it.
    public var confirmed: Bool

    /// Creates a warning.
    ///
    /// - Parameters:
    ///   - id: The fact's id.
    ///   - from: The version the step starts from.
    ///   - to: The version the step ends at.
    ///   - text: The problem.
    ///   - source: Where it comes from.
    ///   - confirmed: Whether the source states all of it.
    public init(
        id: String,
        from: OctopusVersion,
        to: OctopusVersion,
        text: String,
        source: String,
        confirmed: Bool
    ) {
        self.id = id
        self.from = from
        self.to = to
        self.text = text
        self.source = source
        self.confirmed = confirmed
    }
}

/// Why the direct upgrade is not the documented way, and the version to take next.
public struct UpgradeDetour: Sendable, Hashable, Codable {
    /// The fact's id in the data file, such as `issue-4509` or `legacy-2.x`.
    public var id: String
    /// The fact, in one sentence.
    public var text: String
    /// Where it comes from.
    public var source: String
    /// `false` when the source does not state all of it.
    public var confirmed: Bool
    /// The version to upgrade to next: the first intermediate hop, or the version to take instead of the target
    /// when ``replacesTarget`` is set.
    public var next: UpgradeRelease
    /// Whether ``next`` replaces the target (2018.7.1 instead of 2018.7.0) rather than coming before it.
    public var replacesTarget: Bool

    /// Creates a detour.
    ///
    /// - Parameters:
    ///   - id: The fact's id.
    ///   - text: The fact.
    ///   - source: Where it comes from.
    ///   - confirmed: Whether the source states all of it.
    ///   - next: The version to upgrade to next.
    ///   - replacesTarget: Whether `next` replaces the target.
    public init(id: String, text: String, source: String, confirmed: Bool, next: UpgradeRelease, replacesTarget: Bool) {
        self.id = id
        self.text = text
        self.source = source
        self.confirmed = confirmed
        self.next = next
        self.replacesTarget = replacesTarget
    }
}

/// An upgrade that cannot be planned: a downgrade, or no change at all.
///
/// Compare errors by ``code``; the ``message`` is one sentence naming both versions.
public struct UpgradePathError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case downgrade
            case sameVersion
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The target is older than the current version.
        public static let downgrade = Code(.downgrade)
        /// The target is the current version.
        public static let sameVersion = Code(.sameVersion)

        /// The code's name, such as `downgrade`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The version upgraded from.
    public var from: OctopusVersion
    /// The version asked for.
    public var to: OctopusVersion
    /// One sentence naming both versions, with no "Error:" prefix.
    public var message: String

    /// The message.
    public var description: String { message }

    static func downgrade(from: OctopusVersion, to: OctopusVersion, fact: UpgradeFact) -> UpgradePathError {
        UpgradePathError(
            code: .downgrade,
            from: from,
            to: to,
            message: "\(to) is older than \(from), and octoprov does not plan downgrades: \(fact.text) "
                + "(\(fact.source))."
        )
    }

    static func sameVersion(_ version: OctopusVersion) -> UpgradePathError {
        UpgradePathError(
            code: .sameVersion,
            from: version,
            to: version,
            message: "\(version) is both the current and the target version, so there is nothing to upgrade."
        )
    }
}
