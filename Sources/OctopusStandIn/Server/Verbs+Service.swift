import Foundation

extension VerbContext {
    /// The Windows service name Octopus uses for an instance.
    var serviceName: String { instanceName == "OctopusServer" ? "OctopusDeploy" : "OctopusDeploy: \(instanceName)" }

    /// The PID file of a running server: `<home>/standin.pid`.
    func pidFile(_ configuration: InstanceConfiguration) -> String { "\(home(of: configuration))/standin.pid" }

    // MARK: Start checks

    /// What `run` and `service --start` check before serving, in order: the instance is configured, its
    /// database exists, the master key decrypts it, its schema version is this binary's, a licence is
    /// installed, and a web listen prefix is configured.
    /// - Returns: What the server needs.
    /// - Throws: ``OctopusServerError`` naming the first check that failed and what to do.
    func startChecks(_ configuration: InstanceConfiguration) throws(OctopusServerError) -> ServerRuntime {
        let connection = try self.connection(of: configuration)
        let database = try open(connection)
        guard let keyText = configuration[text: InstanceConfiguration.Key.masterKey] else {
            throw OctopusServerError(
                .masterKey,
                "Instance '\(instanceName)' has no Master Key configured; run `Octopus.Server database --instance "
                    + "\(instanceName) --masterKey …` first."
            )
        }
        let key: MasterKey
        do {
            key = try masterKey(keyText)
            try key.verify(against: database)
        } catch let error as OctopusServerError {
            throw error
        } catch let error as MasterKeyError {
            throw OctopusServerError(.masterKey, "Octopus Server cannot start: \(error.message)")
        } catch {
            throw OctopusServerError(.masterKey, "Octopus Server cannot start: \(error)")
        }
        _ = try checkSchema(of: database, name: connection.database, allowOlder: false, forStart: true)
        let licensed = try storage("read the licence") {
            try !database.query(
                "SELECT 1 FROM Configuration WHERE Id = ?",
                [.text(Self.licenseConfigurationId)]
            ).rows.isEmpty
        }
        guard licensed else {
            throw OctopusServerError(
                .licence,
                "Octopus Server cannot start: no licence is installed in database \"\(connection.database)\" "
                    + "(Configuration row 'license'); run `Octopus.Server license --instance \(instanceName) "
                    + "--licenseBase64 …` first."
            )
        }
        let prefixes =
            configuration[text: InstanceConfiguration.Key.listenPrefixes].map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            } ?? []
        guard !prefixes.isEmpty else {
            throw OctopusServerError(
                .notConfigured,
                "Octopus Server cannot start: no web listen prefix is configured; run `Octopus.Server configure "
                    + "--instance \(instanceName) --webListenPrefixes http://localhost:8080` first."
            )
        }
        return ServerRuntime(
            instanceName: instanceName,
            nodeName: nodeName(of: configuration),
            listenPrefixes: prefixes,
            databasePath: dataFolder.databasePath(server: connection.server, database: connection.database),
            version: version.description,
            homeDirectory: home(of: configuration),
            masterKey: key
        )
    }

    /// Creates the home folder's `Logs` (with parents) where the server writes its log.
    private func makeLogsFolder(_ runtime: ServerRuntime) throws(OctopusServerError) {
        do {
            try FileManager.default.createDirectory(
                atPath: "\(runtime.homeDirectory)/Logs",
                withIntermediateDirectories: true
            )
        } catch {
            throw OctopusServerError(.failed, "Cannot create \(runtime.homeDirectory)/Logs: \(error).")
        }
    }

    // MARK: run

    func runServer() throws(OctopusServerError) {
        let configuration = try loadInstance()
        let runtime = try startChecks(configuration)
        let pidFile = pidFile(configuration)
        if let other = ServiceProcess.recordedPID(pidFile), other != getpid(), ServiceProcess.isServer(other) {
            throw OctopusServerError(
                .service,
                "Instance '\(instanceName)' is already running (PID \(other), \(pidFile)); stop it with `service --stop`."
            )
        }
        let database = try open(try connection(of: configuration))
        try storage("register node '\(runtime.nodeName)'") {
            try OctopusDatabase.registerNode(runtime.nodeName, in: database)
        }
        try makeLogsFolder(runtime)
        ServiceProcess.record(getpid(), in: pidFile)
        defer {
            if ServiceProcess.recordedPID(pidFile) == getpid() { unlink(pidFile) }
        }
        info(
            "Octopus Server \(version) (instance '\(instanceName)', node '\(runtime.nodeName)') starting; listening on "
                + runtime.listenPrefixes.joined(separator: ", ")
        )
        do {
            try cli.serve(runtime)
        } catch let error as OctopusServerError {
            throw error
        } catch {
            throw OctopusServerError(.service, "Octopus Server stopped: \(error)")
        }
    }

    // MARK: service

    func service() throws(OctopusServerError) {
        var configuration = try loadInstance()
        let actions = ["stop", "restart", "uninstall", "install", "reconfigure", "start"].filter(options.has)
        guard !actions.isEmpty else {
            throw OctopusServerError(
                .usage,
                "Give one or more of --install, --reconfigure, --start, --stop, --restart, --uninstall."
            )
        }
        if options.value("username") ?? options.value("user") != nil || options.value("password") != nil {
            info("The service runs as the user who starts it; --username and --password are recorded nowhere.")
        }
        if options.has("stop") || options.has("restart") || options.has("uninstall") {
            stopServer(configuration)
        }
        if options.has("uninstall") {
            configuration.settings[InstanceConfiguration.Key.serviceInstalled] = .bool(false)
            try save(configuration)
            info("Service \(serviceName) uninstalled.")
        }
        if options.has("install") {
            configuration.settings[InstanceConfiguration.Key.serviceInstalled] = .bool(true)
            try save(configuration)
            info("Service \(serviceName) installed.")
        }
        let installed = configuration.settings[InstanceConfiguration.Key.serviceInstalled] == .bool(true)
        if options.has("reconfigure") {
            guard installed else {
                throw OctopusServerError(.service, "The \(serviceName) service is not installed; add --install.")
            }
            info("Service \(serviceName) reconfigured.")
        }
        if options.has("start") || options.has("restart") {
            guard installed else {
                throw OctopusServerError(
                    .service,
                    "The \(serviceName) service is not installed; run `Octopus.Server service --instance "
                        + "\(instanceName) --install --start`."
                )
            }
            try startServer(configuration)
        }
    }

    private func stopServer(_ configuration: InstanceConfiguration) {
        let pidFile = pidFile(configuration)
        guard let pid = ServiceProcess.recordedPID(pidFile), ServiceProcess.isServer(pid) else {
            unlink(pidFile)
            info("Service \(serviceName) is not running.")
            return
        }
        info("Stopping service \(serviceName) (PID \(pid))")
        if ServiceProcess.stop(pid, timeout: 30) {
            unlink(pidFile)
            info("Service \(serviceName) stopped.")
        } else {
            info("Service \(serviceName) (PID \(pid)) did not stop.")
        }
    }

    private func startServer(_ configuration: InstanceConfiguration) throws(OctopusServerError) {
        let pidFile = pidFile(configuration)
        if let pid = ServiceProcess.recordedPID(pidFile), ServiceProcess.isServer(pid) {
            info("Service \(serviceName) is already running (PID \(pid)).")
            return
        }
        let runtime = try startChecks(configuration)
        guard let address = runtime.listenPrefixes.lazy.compactMap(ListenAddress.init(prefix:)).first else {
            throw OctopusServerError(
                .notConfigured,
                "The listen prefix '\(runtime.listenPrefixes[0])' is not an http:// or https:// URL; fix it with "
                    + "`configure --webListenPrefixes`."
            )
        }
        if ServiceProcess.accepts(address) {
            throw OctopusServerError(
                .service,
                "Cannot start \(serviceName): something already listens on \(address.host):\(address.port) "
                    + "(\(runtime.listenPrefixes[0]))."
            )
        }
        let log = runtime.serverLogPath
        try makeLogsFolder(runtime)
        let logStart = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber)?.uint64Value ?? 0
        var arguments = cli.selfInvocation + ["run", "--instance", instanceName]
        if let config = options.value("config") { arguments += ["--config", absolute(config)] }
        info("Starting service \(serviceName)")
        let pid = try ServiceProcess.spawnDetached(arguments, environment: cli.environment, logPath: log)
        ServiceProcess.record(pid, in: pidFile)
        switch ServiceProcess.waitUntilListening(pid, on: address, timeout: cli.startTimeout) {
        case .listening:
            info(
                "Service \(serviceName) started (PID \(pid)), listening on \(runtime.listenPrefixes.joined(separator: ", "))."
            )
        case .exited(let status):
            if ServiceProcess.recordedPID(pidFile) == pid { unlink(pidFile) }
            let reason = Self.lastLines(of: log, from: logStart)
            throw OctopusServerError(
                .service,
                "The \(serviceName) service stopped while starting (exit status \(status)): "
                    + "\(reason.isEmpty ? "it wrote nothing" : reason) (log: \(log))."
            )
        case .timedOut:
            _ = ServiceProcess.stop(pid, timeout: 5)
            if ServiceProcess.recordedPID(pidFile) == pid { unlink(pidFile) }
            throw OctopusServerError(
                .service,
                "The \(serviceName) service did not listen on \(address.host):\(address.port) within "
                    + "\(Int(cli.startTimeout)) seconds and was stopped (log: \(log))."
            )
        }
    }

    /// The last non-empty line a log got since an offset (where a failed start says why).
    static func lastLines(of path: String, from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.last ?? ""
    }
}
