import Foundation
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The stand-in's Octopus Server: the REST API on the instance's listen prefixes and the behaviour that
/// makes quarantine testable (triggers fire, webhooks are posted, targets are health-checked and
/// deployed to, queued tasks run), over the instance's SQLite database.
///
/// `Octopus.Server run` and `service --start` build a ``ServerRuntime`` after their start checks and
/// call ``runUntilTerminated()``; tests call ``start()`` (port 0 listens on a free port) and ``stop()``.
///
/// At `init` the database gets the stand-in's always-run script (``ProjectDocuments/upgradeModel(in:)``:
/// the `DeploymentProcess` table and every project's process and variable set, for databases an older
/// stand-in wrote). At ``start()`` the server appends one JSON line to ``ServerRuntime/auditLogPath`` (what
/// was enabled, before anything ran; see ``StartAudit``), registers this node's `OctopusServerNode` row, holds
/// the database in use (``DatabaseUse``, so `DROP DATABASE` is refused until ``stop()``) and logs to
/// ``ServerRuntime/serverLogPath``. docs/standin-api.md lists the endpoints, the behaviour and the seed
/// data each behaviour needs.
///
/// `@unchecked Sendable`: `state` is guarded by `lock`; the rest is immutable after `init`.
public final class StandInServer: @unchecked Sendable {
    /// What the server runs with.
    public let runtime: ServerRuntime
    /// How fast its behaviour runs.
    public let timing: Timing

    private let endpoints: [(host: String, port: Int)]
    private let version: StandInVersionNumber
    private let store: StandInStore
    private let log: StandInServerLog
    private let lock = NSLock()
    private let finished = NSCondition()
    private var state = RunState()

    private struct RunState {
        var http: HTTPServer?
        var scheduler: BehaviourScheduler?
        /// The hold that makes `DROP DATABASE` see the database in use while this server runs.
        var databaseUse: DatabaseUse?
        var ports: [Int] = []
        var started = false
        var stopping = false
        var stopped = false
    }

    /// Checks the runtime and opens the database; nothing listens until ``start()``.
    /// - Parameters:
    ///   - runtime: The instance's settings.
    ///   - timing: The behaviour's timing; by default from the `OCTOPUS_STANDIN_*_SECONDS` variables.
    /// - Throws: ``StandInServerError``: ``StandInServerError/Code/invalidListenPrefix``,
    ///   ``StandInServerError/Code/invalidVersion``, ``StandInServerError/Code/invalidSetting``,
    ///   ``StandInServerError/Code/databaseUnavailable``, ``StandInServerError/Code/logUnwritable``.
    public init(runtime: ServerRuntime, timing: Timing? = nil) throws(StandInServerError) {
        self.runtime = runtime
        if let timing {
            self.timing = timing
        } else {
            self.timing = try Timing(environment: ProcessInfo.processInfo.environment)
        }
        guard let version = StandInVersionNumber(runtime.version) else {
            throw StandInServerError(
                .invalidVersion,
                "The stand-in's version '\(runtime.version)' is not a version number like 2023.3.13026."
            )
        }
        self.version = version
        guard !runtime.listenPrefixes.isEmpty else {
            throw StandInServerError(
                .invalidListenPrefix,
                "The instance has no listen prefix; set one with configure --webListenPrefixes http://localhost:8080/."
            )
        }
        var endpoints: [(host: String, port: Int)] = []
        for prefix in runtime.listenPrefixes {
            let endpoint = try Self.parse(listenPrefix: prefix)
            if !endpoints.contains(where: { $0.host == endpoint.host && $0.port == endpoint.port && $0.port != 0 }) {
                endpoints.append(endpoint)
            }
        }
        self.endpoints = endpoints
        guard access(runtime.databasePath, R_OK | W_OK) == 0 else {
            throw StandInServerError(
                .databaseUnavailable,
                "The instance's database \(runtime.databasePath) does not exist or cannot be written; "
                    + "restore or create it (database --create) first."
            )
        }
        do {
            // The always-run script first, so the store sees the tables it adds.
            let opened = try SQLiteDatabase(path: runtime.databasePath, create: false)
            if try opened.tableExists("Project") {
                _ = try opened.withTransaction { try ProjectDocuments.upgradeModel(in: opened) }
            }
        } catch {
            throw StandInServerError(
                .databaseUnavailable,
                "Cannot bring the instance's database \(runtime.databasePath) up to the stand-in's model: \(error)"
            )
        }
        do {
            store = try StandInStore(path: runtime.databasePath)
        } catch {
            throw StandInServerError(.databaseUnavailable, "Cannot open the instance's database: \(error)")
        }
        guard store.hasTable("Configuration"), store.hasTable("ServerTask") else {
            throw StandInServerError(
                .databaseUnavailable,
                "\(runtime.databasePath) is not an Octopus database (it has no Configuration or ServerTask table)."
            )
        }
        log = try StandInServerLog(path: runtime.serverLogPath)
    }

    /// Splits `http://host:port/[path/]` into the address and port to bind; `localhost` is 127.0.0.1,
    /// `+` and `*` are every address. The path, if any, is ignored (requests are routed by `/api`).
    static func parse(listenPrefix: String) throws(StandInServerError) -> (host: String, port: Int) {
        let trimmed = listenPrefix.trimmingCharacters(in: .whitespaces)
        // ContactURL refuses port 0; a prefix may ask for it (tests: any free port).
        if trimmed.lowercased().hasPrefix("http://"), let host = Self.portZeroHost(trimmed), !host.isEmpty {
            return (host, 0)
        }
        guard let url = ContactURL(trimmed) else {
            throw StandInServerError(
                .invalidListenPrefix,
                "The listen prefix '\(listenPrefix)' is not like http://localhost:8080/."
            )
        }
        guard url.scheme == "http" else {
            throw StandInServerError(
                .invalidListenPrefix,
                "The listen prefix '\(listenPrefix)' uses \(url.scheme); the stand-in serves http:// only."
            )
        }
        return (url.host, url.port)
    }

    private static func portZeroHost(_ prefix: String) -> String? {
        let authority = prefix.dropFirst("http://".count).prefix { $0 != "/" }
        guard authority.hasSuffix(":0") else { return nil }
        return String(authority.dropLast(2))
    }

    /// The ports bound, in the order of the listen prefixes (after duplicates are dropped); empty before
    /// ``start()``.
    public var boundPorts: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return state.ports
    }

    /// Binds the listen prefixes, writes the start audit line, registers this node, and starts serving and
    /// the behaviour.
    /// - Returns: The bound ports (the kernel's choice for port 0), in the order of ``boundPorts``.
    /// - Throws: ``StandInServerError``: ``StandInServerError/Code/bindFailed`` (nothing stays bound),
    ///   ``StandInServerError/Code/logUnwritable``, ``StandInServerError/Code/databaseUnavailable``,
    ///   ``StandInServerError/Code/alreadyStarted``.
    @discardableResult
    public func start() throws(StandInServerError) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        guard !state.started else {
            throw StandInServerError(
                .alreadyStarted,
                "The stand-in server for \(runtime.instanceName) is already started."
            )
        }
        let api = OctopusAPI(runtime: runtime, version: version, store: store, log: log)
        let log = self.log
        let http: HTTPServer
        do {
            var limits = HTTPLimits()
            limits.headerTimeout = timing.httpTimeout
            limits.bodyIdleTimeout = timing.httpTimeout
            http = try HTTPServer(
                endpoints: endpoints,
                limits: limits,
                extraHeaders: [("Octopus-Node", runtime.nodeName)],
                onError: { log.warn($0) },
                handler: { api.handle($0) }
            )
        } catch {
            throw StandInServerError(
                .bindFailed,
                "\(error.message) Check that no other server uses the port of \(runtime.listenPrefixes.joined(separator: ", "))."
            )
        }
        let ports = http.listeners.map(\.port)
        let listening = http.listeners.map { "http://\($0.host):\($0.port)/" }
        do {
            let audit = try StartAudit.take(store: store, runtime: runtime, listening: listening)
            try StandInLogFile(path: runtime.auditLogPath).append(JSONValue.object(audit).serialized())
            try StartAudit.registerNode(store: store, runtime: runtime)
            log.info(
                "Octopus Server (stand-in) \(runtime.version), instance \(runtime.instanceName), node \(runtime.nodeName), "
                    + "listening on \(listening.joined(separator: ", ")); start audit: \(JSONValue.object(audit))"
            )
        } catch let error as StandInServerError {
            http.stop()
            throw error
        } catch {
            http.stop()
            throw StandInServerError(.databaseUnavailable, "The start audit could not read the database: \(error)")
        }
        let scheduler = BehaviourScheduler(api: api, timing: timing)
        http.start()
        scheduler.start()
        let databaseUse = DatabaseUse(databasePath: runtime.databasePath)
        if databaseUse == nil {
            log.warn(
                "Cannot hold \(DatabaseUse.markerPath(databasePath: runtime.databasePath)); DROP DATABASE will not see the database in use."
            )
        }
        state = RunState(http: http, scheduler: scheduler, databaseUse: databaseUse, ports: ports, started: true)
        return ports
    }

    /// Stops serving and the behaviour, and waits for their threads. Idempotent; a second caller waits for
    /// the first to finish.
    public func stop() {
        lock.lock()
        let current = state
        if current.started { state.stopping = true }
        lock.unlock()
        guard current.started, !current.stopping else {
            wait()
            return
        }
        current.scheduler?.stop()
        current.http?.stop()
        current.databaseUse?.release()
        log.info("Octopus Server (stand-in) node \(runtime.nodeName) stopped.")
        finished.lock()
        lock.lock()
        state.stopped = true
        state.http = nil
        state.scheduler = nil
        state.databaseUse = nil
        lock.unlock()
        finished.broadcast()
        finished.unlock()
    }

    /// Blocks until ``stop()`` has finished (returns at once if the server never started).
    public func wait() {
        finished.lock()
        defer { finished.unlock() }
        while true {
            lock.lock()
            let done = !state.started || state.stopped
            lock.unlock()
            if done { return }
            finished.wait()
        }
    }

    /// Starts (unless already started), then serves until SIGTERM or SIGINT, then stops cleanly: what
    /// `Octopus.Server run` does in the foreground.
    /// - Throws: What ``start()`` throws.
    public func runUntilTerminated() throws(StandInServerError) {
        let queue = DispatchQueue(label: "standin-signals")
        var sources: [any DispatchSourceSignal] = []
        var previous: [(Int32, sigaction)] = []
        for signalNumber in [SIGTERM, SIGINT] {
            // The default action would kill the process before the dispatch source sees the signal.
            var old = sigaction()
            sigaction(signalNumber, nil, &old)
            previous.append((signalNumber, old))
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [self] in
                log.info("Received signal \(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"); stopping.")
                stop()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            for source in sources { source.cancel() }
            for (signalNumber, old) in previous {
                var restored = old
                sigaction(signalNumber, &restored, nil)
            }
        }
        if !isStarted { try start() }
        wait()
    }

    private var isStarted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return state.started
    }
}
