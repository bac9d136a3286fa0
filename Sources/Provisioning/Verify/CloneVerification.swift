import Foundation

/// The `verify` step's REST checks on a started clone (issue 5, DESIGN.md "The clone flow"): the version is the
/// pin, the server is healthy, every target, worker, trigger and subscription in every space is disabled, the
/// counts match the restored database, the Server URI is not production's and the Installation ID is new.
///
/// Checks are independent: each reports its own result, a check whose data cannot be read fails with the reason,
/// and one failing never stops the others. What several checks need (the root, the spaces, a collection) is read
/// once.
///
/// ```swift
/// let results = try await LocalPortForward.withForward(sshConfiguration, remotePort: webPort) { forward in
///     let client = try OctopusClient(baseURL: "http://127.0.0.1:\(forward.localPort)", apiKey: apiKey)
///     _ = try await client.waitUntilReady(timeout: .seconds(120))
///     return await CloneVerification(client: client, spec: spec, expectations: expected).run()
/// }
/// ```
public struct CloneVerification: Sendable {
    /// What the clone is checked against; the runner gathers it before the clone's first start.
    public struct Expectations: Sendable, Hashable {
        /// The pinned version (`version:` of the instance).
        public var version: OctopusVersion
        /// The counts read from the restored database before start (`counts`).
        public var counts: ExpectedCounts?
        /// Production's Server URI, read from the restored database before quarantine (`server_uri`).
        public var productionServerURI: String?
        /// The Server URI the clone must have (`server_uri` of the instance), if known (`server_uri`).
        public var cloneServerURI: String?
        /// Production's Installation ID, read from the restored database before quarantine (`installation_id`).
        public var productionInstallationId: String?
        /// Whether the server has spaces; `nil` asks `/api` (its `Links` name `Spaces` from 2019.1).
        public var spacesExist: Bool?
        /// The restored database's rows in spaces that do not exist, which the API does not show, as the
        /// quarantine step names them (`Machine Machines-13 (Spaces-99), …`); a differing `counts` names them.
        public var rowsOutsideSpaces: String?

        /// Creates expectations.
        ///
        /// - Parameters:
        ///   - version: The pinned version.
        ///   - counts: The restored database's counts.
        ///   - productionServerURI: Production's Server URI.
        ///   - cloneServerURI: The clone's own Server URI.
        ///   - productionInstallationId: Production's Installation ID.
        ///   - spacesExist: Whether the server has spaces; `nil` to ask the server.
        ///   - rowsOutsideSpaces: The restored database's rows in spaces that do not exist.
        public init(
            version: OctopusVersion,
            counts: ExpectedCounts? = nil,
            productionServerURI: String? = nil,
            cloneServerURI: String? = nil,
            productionInstallationId: String? = nil,
            spacesExist: Bool? = nil,
            rowsOutsideSpaces: String? = nil
        ) {
            self.version = version
            self.counts = counts
            self.productionServerURI = productionServerURI
            self.cloneServerURI = cloneServerURI
            self.productionInstallationId = productionInstallationId
            self.spacesExist = spacesExist
            self.rowsOutsideSpaces = rowsOutsideSpaces
        }
    }

    /// Workers exist from 2018.7 (`Worker` table, `/api/workers`).
    public static let workersSince = OctopusVersion(major: 2018, minor: 7, build: 0)

    /// The client, through the port forward to the clone's API, with octoprov's API key.
    public let client: OctopusClient
    /// What the clone is checked against.
    public let expectations: Expectations
    /// The checks to run, in the order results are returned.
    public let checks: [VerifyCheck]

    /// Creates a verification.
    ///
    /// - Parameters:
    ///   - client: The clone's API client.
    ///   - expectations: What the clone is checked against.
    ///   - checks: The checks (the instance's `verify:`); by default every clone check.
    public init(
        client: OctopusClient,
        expectations: Expectations,
        checks: [VerifyCheck] = VerifyCheck.defaults(for: .clone, quarantine: Quarantine())
    ) {
        self.client = client
        self.expectations = expectations
        self.checks = checks
    }

    /// Creates the verification an instance spec asks for: its `verify:` checks, against its pinned version.
    ///
    /// - Parameters:
    ///   - client: The clone's API client.
    ///   - spec: The instance; its ``InstanceSpec/verify`` list chooses the checks and ``InstanceSpec/version`` is
    ///     the pin (``Expectations/version`` is set from it).
    ///   - expectations: What the clone is checked against besides the version.
    public init(client: OctopusClient, spec: InstanceSpec, expectations: Expectations) {
        var expectations = expectations
        expectations.version = spec.version
        self.init(client: client, expectations: expectations, checks: spec.verify)
    }

    /// Runs every check, one after the other, and returns one result per check in the order of ``checks``.
    public func run() async -> [VerifyCheckResult] {
        let data = VerifyData(client: client, spacesExist: expectations.spacesExist)
        var results: [VerifyCheckResult] = []
        for check in checks {
            results.append(await run(check, data))
        }
        return results
    }

    private func run(_ check: VerifyCheck, _ data: VerifyData) async -> VerifyCheckResult {
        switch check {
        case .version: return await version(data)
        case .health: return await health(data)
        case .targetsDisabled: return await disabled(check, .machines, data)
        case .workersDisabled: return await disabled(check, .workers, data)
        case .triggersDisabled: return await disabled(check, .projectTriggers, data)
        case .subscriptionsDisabled: return await disabled(check, .subscriptions, data)
        case .counts: return await counts(data)
        case .serverUri: return await serverURI(data)
        case .installationId: return await installationId(data)
        case .projects:
            return VerifyCheckResult(
                check: check,
                passed: false,
                message:
                    "The `projects` check belongs to the test-instance flow; the clone verification does not run it."
            )
        }
    }

    // MARK: - Checks

    private func version(_ data: VerifyData) async -> VerifyCheckResult {
        let pinned = expectations.version
        let root: OctopusRoot
        switch await data.root() {
        case .success(let value): root = value
        case .failure(let error): return unreadable(.version, "the version", error)
        }
        // A version that does not parse is the failed check itself, said in words below.
        guard let reported = try? OctopusVersion(parsing: root.version) else {
            return VerifyCheckResult(
                check: .version,
                passed: false,
                message:
                    "The API reports version `\(root.version)`, which is not an Octopus version; the pin is \(pinned)."
            )
        }
        guard reported == pinned else {
            return VerifyCheckResult(
                check: .version,
                passed: false,
                message: "The API reports Octopus \(reported); the pinned version is \(pinned)."
            )
        }
        return VerifyCheckResult(
            check: .version,
            passed: true,
            message: "The API reports Octopus \(reported), the pin."
        )
    }

    private func health(_ data: VerifyData) async -> VerifyCheckResult {
        let health: OctopusServerHealth
        do {
            health = try await client.health()
        } catch {
            return unreadable(.health, "the server's health", error)
        }
        let said = health.description.map { " (\(Self.sentence($0)))" } ?? ""
        guard health.isOperatingNormally else {
            return VerifyCheckResult(
                check: .health,
                passed: false,
                message: "The server is not operating normally\(said)."
            )
        }
        return VerifyCheckResult(check: .health, passed: true, message: "The server is operating normally\(said).")
    }

    private func disabled(
        _ check: VerifyCheck,
        _ collection: OctopusCollection,
        _ data: VerifyData
    ) async -> VerifyCheckResult {
        let noun = Self.noun(collection)
        if collection == .workers && expectations.version < Self.workersSince {
            return VerifyCheckResult(
                check: check,
                passed: true,
                message: "Octopus \(expectations.version) has no workers (they came in \(Self.workersSince))."
            )
        }
        let items: [OctopusResource]
        switch await data.resources(collection) {
        case .success(let value): items = value
        case .failure(let error): return unreadable(check, "the \(noun.plural)", error)
        }
        let enabled = items.filter { !$0.isDisabled }
        guard enabled.isEmpty else {
            let count = enabled.count
            return VerifyCheckResult(
                check: check,
                passed: false,
                message:
                    "\(count) \(count == 1 ? noun.singular : noun.plural) still enabled: "
                    + enabled.map(\.label).joined(separator: ", ") + "."
            )
        }
        let spaces = await data.spaceCount()
        let whereabouts = spaces.map { " in \($0) \($0 == 1 ? "space" : "spaces")" } ?? ""
        return VerifyCheckResult(
            check: check,
            passed: true,
            message: items.isEmpty
                ? "There are no \(noun.plural)\(whereabouts)."
                : items.count == 1
                    ? "The one \(noun.singular)\(whereabouts) is disabled."
                    : "All \(items.count) \(noun.plural)\(whereabouts) are disabled."
        )
    }

    private func counts(_ data: VerifyData) async -> VerifyCheckResult {
        guard let expected = expectations.counts else {
            return VerifyCheckResult(
                check: .counts,
                passed: false,
                message: "No expected counts were given (they are read from the restored database before start)."
            )
        }
        struct Count {
            var noun: (singular: String, plural: String)
            var actual: Int
            var expected: Int
            var text: String { "\(actual) \(actual == 1 ? noun.singular : noun.plural)" }
        }
        var found: [Count] = []
        let collections: [(OctopusCollection, Int)] = [
            (.machines, expected.targets), (.workers, expected.workers), (.projectTriggers, expected.triggers),
            (.subscriptions, expected.subscriptions), (.projects, expected.projects),
        ]
        for (collection, want) in collections {
            let noun = Self.noun(collection)
            if collection == .workers && expectations.version < Self.workersSince {
                found.append(Count(noun: noun, actual: 0, expected: want))
                continue
            }
            switch await data.resources(collection) {
            case .success(let items): found.append(Count(noun: noun, actual: items.count, expected: want))
            case .failure(let error): return unreadable(.counts, "the \(noun.plural)", error)
            }
        }
        switch await data.scopes() {
        case .success(let scopes):
            let spaces = scopes.filter { $0 != .unscoped }.count
            found.append(Count(noun: ("space", "spaces"), actual: spaces, expected: expected.spaces))
        case .failure(let error):
            return unreadable(.counts, "the spaces", error)
        }
        let differing = found.filter { $0.actual != $0.expected }
        guard differing.isEmpty else {
            var message =
                "Counts differ from the restored database: "
                + differing.map { "\($0.text) (expected \($0.expected))" }.joined(separator: ", ") + "."
            if let rows = expectations.rowsOutsideSpaces, !rows.isEmpty {
                message +=
                    " The restored database also has rows in spaces that do not exist, which the API does not show: "
                    + "\(rows)."
            }
            return VerifyCheckResult(check: .counts, passed: false, message: message)
        }
        return VerifyCheckResult(
            check: .counts,
            passed: true,
            message: "Counts match the restored database: "
                + found.map(\.text).joined(separator: ", ") + "."
        )
    }

    private func serverURI(_ data: VerifyData) async -> VerifyCheckResult {
        let production = expectations.productionServerURI.flatMap(Self.normalizedURI)
        let clone = expectations.cloneServerURI.flatMap(Self.normalizedURI)
        guard production != nil || clone != nil else {
            return VerifyCheckResult(
                check: .serverUri,
                passed: false,
                message: "Neither production's Server URI nor the clone's was given, so there is nothing to compare."
            )
        }
        let configuration: OctopusServerConfiguration
        do {
            configuration = try await client.serverConfiguration()
        } catch {
            return unreadable(.serverUri, "the Server URI", error)
        }
        let actual = configuration.serverUri.flatMap(Self.normalizedURI)
        let shown = configuration.serverUri.map { "`\($0)`" } ?? "not set"
        if let production, actual == production {
            return VerifyCheckResult(
                check: .serverUri,
                passed: false,
                message: "The Server URI is still production's (\(shown)): links and notifications point at production."
            )
        }
        if let clone, actual != clone {
            return VerifyCheckResult(
                check: .serverUri,
                passed: false,
                message: "The Server URI is \(shown), not the clone's `\(expectations.cloneServerURI ?? "")`."
            )
        }
        return VerifyCheckResult(
            check: .serverUri,
            passed: true,
            message: "The Server URI is \(shown)"
                + (expectations.productionServerURI.map { ", not production's `\($0)`." } ?? ", the clone's own.")
        )
    }

    private func installationId(_ data: VerifyData) async -> VerifyCheckResult {
        guard let production = expectations.productionInstallationId?.trimmingCharacters(in: .whitespaces),
            !production.isEmpty
        else {
            return VerifyCheckResult(
                check: .installationId,
                passed: false,
                message: "Production's Installation ID was not given, so there is nothing to compare."
            )
        }
        let root: OctopusRoot
        switch await data.root() {
        case .success(let value): root = value
        case .failure(let error): return unreadable(.installationId, "the Installation ID", error)
        }
        guard let actual = root.installationId?.trimmingCharacters(in: .whitespaces), !actual.isEmpty else {
            return VerifyCheckResult(
                check: .installationId,
                passed: false,
                message: "The API reports no Installation ID (production's is \(production))."
            )
        }
        guard actual.lowercased() != production.lowercased() else {
            return VerifyCheckResult(
                check: .installationId,
                passed: false,
                message: "The Installation ID is still production's (\(actual)): telemetry of both would be mixed."
            )
        }
        return VerifyCheckResult(
            check: .installationId,
            passed: true,
            message: "The Installation ID \(actual) differs from production's \(production)."
        )
    }

    // MARK: - Helpers

    private func unreadable(_ check: VerifyCheck, _ what: String, _ error: OctopusAPIError) -> VerifyCheckResult {
        VerifyCheckResult(check: check, passed: false, message: "Cannot read \(what): \(error.message)")
    }

    private static func noun(_ collection: OctopusCollection) -> (singular: String, plural: String) {
        switch collection {
        case .machines: ("target", "targets")
        case .workers: ("worker", "workers")
        case .projectTriggers: ("trigger", "triggers")
        case .subscriptions: ("subscription", "subscriptions")
        case .projects: ("project", "projects")
        case .environments: ("environment", "environments")
        }
    }

    /// A URI compared without case, surrounding spaces or trailing slashes; `nil` when empty.
    static func normalizedURI(_ text: String) -> String? {
        var uri = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        while uri.hasSuffix("/") { uri.removeLast() }
        return uri.isEmpty ? nil : uri
    }

    private static func sentence(_ text: String) -> String {
        OctopusClient.withoutFinalPeriod(text)
    }
}

/// What the checks read, each fetched once (a failure is kept too, so every check that needs it reports it).
private actor VerifyData {
    let client: OctopusClient
    let spacesExist: Bool?
    private var cachedRoot: Result<OctopusRoot, OctopusAPIError>?
    private var cachedScopes: Result<[OctopusScope], OctopusAPIError>?
    private var cachedResources: [OctopusCollection: Result<[OctopusResource], OctopusAPIError>] = [:]

    init(client: OctopusClient, spacesExist: Bool?) {
        self.client = client
        self.spacesExist = spacesExist
    }

    func root() async -> Result<OctopusRoot, OctopusAPIError> {
        if let cachedRoot { return cachedRoot }
        let result: Result<OctopusRoot, OctopusAPIError>
        do {
            result = .success(try await client.root())
        } catch {
            result = .failure(error)
        }
        cachedRoot = result
        return result
    }

    func scopes() async -> Result<[OctopusScope], OctopusAPIError> {
        if let cachedScopes { return cachedScopes }
        let result: Result<[OctopusScope], OctopusAPIError>
        do {
            let hasSpaces: Bool
            if let spacesExist {
                hasSpaces = spacesExist
            } else {
                hasSpaces = try await root().get().hasSpaces
            }
            result = .success(try await client.scopes(spacesExist: hasSpaces))
        } catch {
            result = .failure(error)
        }
        cachedScopes = result
        return result
    }

    /// The number of spaces, when they were read and the server has them.
    func spaceCount() async -> Int? {
        guard case .success(let scopes) = await scopes(), !scopes.contains(.unscoped) else { return nil }
        return scopes.count
    }

    /// Every resource of `collection` in every scope. Triggers are read twice per space, plainly and with
    /// `runbooks=true`, and merged by Id: whether the plain list includes runbook triggers is not confirmed
    /// (octopus-facts.md §4.2), and a runbook trigger left enabled would run on the clone.
    func resources(_ collection: OctopusCollection) async -> Result<[OctopusResource], OctopusAPIError> {
        if let cached = cachedResources[collection] { return cached }
        let result: Result<[OctopusResource], OctopusAPIError>
        do {
            var items: [OctopusResource] = []
            for scope in try await scopes().get() {
                var listed = try await client.list(collection, in: scope)
                if collection == .projectTriggers {
                    var seen = Set(listed.map { $0.id.lowercased() })
                    for item in try await client.list(collection, in: scope, query: [("runbooks", "true")])
                    where seen.insert(item.id.lowercased()).inserted {
                        listed.append(item)
                    }
                }
                items += listed
            }
            result = .success(items)
        } catch {
            result = .failure(error)
        }
        cachedResources[collection] = result
        return result
    }
}
