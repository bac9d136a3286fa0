/// What to seed a "production" database and its server folders with.
///
/// Counts are per space unless named otherwise. Endpoints point at listeners the caller owns, so that anything
/// contacting "production" (a trigger's deployment, a health check, a webhook) is seen.
public struct SeedPlan: Sendable, Hashable {
    /// Spaces (Spaces-1 is the default space). Ignored before 2019.1, which has no spaces.
    public var spaces = 2
    /// Projects per space.
    public var projects = 4
    /// Deployment targets per space.
    public var targets = 3
    /// Workers per space.
    public var workers = 2
    /// Scheduled project triggers per space.
    public var triggers = 2
    /// Webhook subscriptions per space.
    public var subscriptions = 1
    /// Queued server tasks (deployments waiting to run) per space.
    public var queuedTasks = 2
    /// Task log files (many, small) in all.
    public var taskLogFiles = 200
    /// Package files (few, large) per space, and the size of each in bytes.
    public var packageFiles = 3
    public var packageSize = 4 << 20
    /// Where targets and workers are: a `https://127.x.y.z:port/` Tentacle URI.
    public var targetEndpoint: String
    /// Where subscriptions post: an `http://127.x.y.z:port/…` URI.
    public var webhookURL: String
    /// Production's own Server URI.
    public var serverURI: String
    /// Seeds the random contents of files, so that a plan always gives the same bytes.
    public var randomSeed: UInt64 = 2026

    /// - Parameters:
    ///   - targetEndpoint: The Tentacle URI targets and workers get.
    ///   - webhookURL: The URI subscriptions post to.
    ///   - serverURI: Production's Server URI.
    public init(targetEndpoint: String, webhookURL: String, serverURI: String) {
        self.targetEndpoint = targetEndpoint
        self.webhookURL = webhookURL
        self.serverURI = serverURI
    }
}

/// What a seeded database holds, for the callers that check a clone against it.
public struct SeedSummary: Codable, Sendable, Hashable {
    public var version: String
    public var spaces: [String] = []
    public var projects = 0
    public var environments = 0
    public var targets = 0
    public var workers = 0
    public var triggers = 0
    public var subscriptions = 0
    public var queuedTasks = 0
    public var serverNodes = 0
    public var accounts = 0
    public var certificates = 0
    public var installationId = ""
    public var serverURI = ""
    /// Names of the projects, by space id.
    public var projectNames: [String: [String]] = [:]
    /// Files written per server folder.
    public var folderFiles: [String: Int] = [:]
    /// Bytes written per server folder.
    public var folderBytes: [String: Int] = [:]
}
