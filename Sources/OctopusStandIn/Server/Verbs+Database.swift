import Foundation

extension VerbContext {
    // MARK: database

    func database() throws(OctopusServerError) {
        var configuration = try loadInstance()
        if let text = options.value("connectionString") {
            _ = try ConnectionString(text)
            configuration[text: InstanceConfiguration.Key.connectionString] = text
        }
        let connection = try self.connection(of: configuration)
        try requireServer(connection)
        if options.has("delete") {
            // SQL Server refuses to drop a database in use; so does the stand-in while a server runs on it.
            let path = dataFolder.databasePath(server: connection.server, database: connection.database)
            if DatabaseUse.isInUse(databasePath: path) {
                throw OctopusServerError(
                    .database,
                    "Cannot drop database \"\(connection.database)\" because it is currently in use: an Octopus Server "
                        + "(stand-in) is running on it; stop it first (`Octopus.Server service --instance "
                        + "\(instanceName) --stop`)."
                )
            }
            let dropped = dataFolder.deleteDatabase(server: connection.server, database: connection.database)
            DatabaseUse.removeMarker(databasePath: path)
            info(
                dropped
                    ? "Deleted database '\(connection.database)' on SQL Server '\(connection.server)'."
                    : "The database '\(connection.database)' does not exist on '\(connection.server)'; nothing to delete."
            )
            return
        }
        let givenKey = try secret("masterKey").map { (text) throws(OctopusServerError) in try masterKey(text) }
        let configuredKey = try configuration[text: InstanceConfiguration.Key.masterKey].map {
            (text) throws(OctopusServerError) in try masterKey(text)
        }
        let key: MasterKey
        let opened: SQLiteDatabase
        if !dataFolder.databaseExists(server: connection.server, database: connection.database) {
            guard options.has("create") else {
                throw OctopusServerError(
                    .database,
                    "Cannot open database \"\(connection.database)\" on SQL Server '\(connection.server)': it does not "
                        + "exist. Add --create to create it, or restore a backup first."
                )
            }
            key = givenKey ?? configuredKey ?? MasterKey.generate()
            info("Creating database '\(connection.database)' on SQL Server '\(connection.server)'")
            opened = try storage("create database \"\(connection.database)\"") {
                try OctopusDatabase.create(
                    in: dataFolder,
                    server: connection.server,
                    database: connection.database,
                    version: version,
                    masterKey: key,
                    home: home(of: configuration)
                )
            }
            info("Database created with the schema of Octopus Server \(version).")
            if givenKey == nil && configuredKey == nil {
                info(
                    "A new Master Key was generated; back it up with `Octopus.Server show-master-key --instance "
                        + "\(instanceName)`: without it the database's sensitive values are lost."
                )
            }
        } else {
            if options.has("create") {
                info(
                    "The database '\(connection.database)' already exists on '\(connection.server)'; it is not created again."
                )
            }
            opened = try open(connection)
            _ = try checkSchema(of: opened, name: connection.database, allowOlder: true)
            guard let chosen = givenKey ?? configuredKey else {
                throw OctopusServerError(
                    .masterKey,
                    "The database \"\(connection.database)\" already exists and its sensitive values are encrypted with "
                        + "its Master Key; give that key with --masterKey."
                )
            }
            key = chosen
            do {
                try key.verify(against: opened)
            } catch {
                throw OctopusServerError(.masterKey, error.message)
            }
            info("The Master Key decrypts the database's sensitive values.")
        }
        if options.has("upgrade") {
            let before = try checkSchema(of: opened, name: connection.database, allowOlder: true)
            let scripts = try storage("upgrade database \"\(connection.database)\"") {
                try OctopusDatabase.upgrade(opened, to: version)
            }
            if scripts.isEmpty {
                info("The database is already at schema version \(version); there are no upgrade scripts to run.")
            } else {
                info("Upgrading database '\(connection.database)' from schema version \(before) to \(version)")
                for script in scripts { info("Executing script \(script.scriptName)") }
                info("Database upgraded to schema version \(version).")
            }
        } else {
            let schema = try checkSchema(of: opened, name: connection.database, allowOlder: true)
            if schema < version {
                info(
                    "The database has schema version \(schema); run `Octopus.Server database --instance "
                        + "\(instanceName) --upgrade` before starting Octopus Server \(version)."
                )
            }
        }
        for grantee in options.all("grant") {
            info(
                "Granting db_owner on '\(connection.database)' to '\(grantee)' (the stand-in has no logins to change)."
            )
        }
        configuration[text: InstanceConfiguration.Key.masterKey] = key.base64
        try save(configuration)
        info("Database connection saved to \(configuration.path).")
    }

    // MARK: path

    func path() throws(OctopusServerError) {
        var configuration = try loadInstance()
        let (database, _, _) = try openDatabase(configuration)
        var folders = try storage("read the server folders") { try ServerFolders.read(from: database) }
        if let shared = options.value("clusterShared").map(absolute) {
            folders.packagesDirectory = "\(shared)/Packages"
            folders.artifactsDirectory = "\(shared)/Artifacts"
            folders.taskLogsDirectory = "\(shared)/TaskLogs"
            if features.hasEventExports { folders.eventExportsDirectory = "\(shared)/EventExports" }
            if features.hasImportsFolder { folders.importsDirectory = "\(shared)/Imports" }
        }
        let settings: [(String, WritableKeyPath<ServerFolders, String?>)] = [
            ("nugetRepository", \.packagesDirectory), ("artifacts", \.artifactsDirectory),
            ("taskLogs", \.taskLogsDirectory), ("eventExports", \.eventExportsDirectory),
            ("imports", \.importsDirectory), ("telemetry", \.telemetryDirectory),
        ]
        for (option, keyPath) in settings {
            if let value = options.value(option) { folders[keyPath: keyPath] = absolute(value) }
        }
        try storage("write the server folders") { try folders.write(to: database) }
        if let cache = options.value("cacheDirectory").map(absolute) {
            configuration[text: InstanceConfiguration.Key.cacheDirectory] = cache
            try save(configuration)
            info("Package cache directory set to \(cache).")
        }
        let shown: [(String, String?)] = [
            ("Packages", folders.packagesDirectory), ("Artifacts", folders.artifactsDirectory),
            ("TaskLogs", folders.taskLogsDirectory), ("EventExports", folders.eventExportsDirectory),
            ("Imports", folders.importsDirectory), ("Telemetry", folders.telemetryDirectory),
        ]
        for (name, value) in shown {
            if let value { info("\(name) directory: \(value)") }
        }
    }

    // MARK: admin

    func admin() throws(OctopusServerError) {
        let configuration = try loadInstance()
        guard let username = options.value("username") ?? options.value("user"), !username.isEmpty else {
            throw OctopusServerError(.usage, "Give the user's name with --username.")
        }
        let apiKey = secret("apiKey")
        if let apiKey, !APIKeyHash.isWellFormed(apiKey) {
            throw OctopusServerError(
                .usage,
                "The API key given with --apiKey is not an Octopus API key (API- followed by at least 16 upper-case "
                    + "letters and digits)."
            )
        }
        let password = secret("password")
        let email = options.value("email")
        let (database, _, _) = try openDatabase(configuration)
        try storage("save the user '\(username)'") {
            try database.withTransaction {
                let found = try database.query("SELECT Id FROM [User] WHERE Name = ?", [.text(username)])
                var userId = found.rows.first?.first?.text
                if userId == nil {
                    guard password != nil || apiKey != nil else {
                        throw OctopusServerError(
                            .usage,
                            "Give --password for a new user, or --apiKey alone for a service account."
                        )
                    }
                    let id = "Users-\(try Self.nextNumber(in: "User", prefix: "Users-", database))"
                    let isService = password == nil
                    try database.run(
                        "INSERT INTO [User] (Id, Name, IsService, IsActive, [JSON]) VALUES (?, ?, ?, 1, "
                            + "json_object('Username', ?, 'DisplayName', ?, 'EmailAddress', ?, 'IsService', json(?), "
                            + "'IsActive', json('true'), 'IsRequestor', json('false')))",
                        [
                            .text(id), .text(username), .integer(isService ? 1 : 0), .text(username), .text(username),
                            email.map { .text($0) } ?? .null, .text(isService ? "true" : "false"),
                        ]
                    )
                    userId = id
                    info("Creating user '\(username)'\(isService ? " (a service account)" : "")")
                } else {
                    info("Updating user '\(username)'")
                }
                guard let userId else { return }
                if let email {
                    try database.run(
                        "UPDATE [User] SET [JSON] = json_set([JSON], '$.EmailAddress', ?) WHERE Id = ?",
                        [.text(email), .text(userId)]
                    )
                }
                if let password {
                    try database.run(
                        "UPDATE [User] SET IsService = 0, [JSON] = json_set([JSON], '$.PasswordHash', ?, "
                            + "'$.IsService', json('false')) WHERE Id = ?",
                        [.text(PasswordHash.make(password)), .text(userId)]
                    )
                    info("Password set for '\(username)'.")
                }
                if let apiKey {
                    let hashed = APIKeyHash.hashed(apiKey)
                    let existing = try database.query(
                        "SELECT 1 FROM ApiKey WHERE UserId = ? AND ApiKeyHashed = ?",
                        [.text(userId), .text(hashed)]
                    )
                    if existing.rows.isEmpty {
                        let id = "ApiKeys-\(try Self.nextNumber(in: "ApiKey", prefix: "ApiKeys-", database))"
                        try database.run(
                            "INSERT INTO ApiKey (Id, UserId, ApiKeyHashed, [JSON]) VALUES (?, ?, ?, json_object("
                                + "'Purpose', 'Octopus.Server admin', 'UserId', ?, 'Created', "
                                + "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                            [.text(id), .text(userId), .text(hashed), .text(userId)]
                        )
                        info("API key added for '\(username)'.")
                    } else {
                        info("'\(username)' already has this API key.")
                    }
                }
            }
        }
        info("User '\(username)' is an administrator.")
    }

    static func nextNumber(in table: String, prefix: String, _ database: SQLiteDatabase) throws -> Int {
        let rows = try database.query(
            "SELECT COALESCE(MAX(CAST(substr(Id, ?) AS INTEGER)), 0) + 1 FROM [\(table)] WHERE Id LIKE ?",
            [.integer(Int64(prefix.count + 1)), .text("\(prefix)%")]
        )
        return Int(rows.rows.first?.first?.integer ?? 1)
    }

    // MARK: license

    /// The `Configuration` row holding the licence: `{"LicenseText":"<xml>","SerialNumber":"…"}`.
    static let licenseConfigurationId = "license"

    func license() throws(OctopusServerError) {
        let configuration = try loadInstance()
        let text: String
        switch (secret("licenseBase64"), options.value("licenseFile")) {
        case (let encoded?, nil):
            guard let data = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)),
                let decoded = String(data: data, encoding: .utf8)
            else {
                throw OctopusServerError(.usage, "The licence given with --licenseBase64 is not base64 of UTF-8 text.")
            }
            text = decoded
        case (nil, let file?):
            guard let data = FileManager.default.contents(atPath: absolute(file)),
                let contents = String(data: data, encoding: .utf8)
            else {
                throw OctopusServerError(.failed, "Cannot read the licence file \(absolute(file)).")
            }
            text = contents
        case (nil, nil):
            throw OctopusServerError(.usage, "Give the licence with --licenseBase64 or --licenseFile.")
        default:
            throw OctopusServerError(.usage, "Give either --licenseBase64 or --licenseFile, not both.")
        }
        let licence = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !licence.isEmpty, options.has("skipLicenseCheck") || licence.hasPrefix("<") else {
            throw OctopusServerError(
                .licence,
                "The licence is not an Octopus licence key (XML); check it, or pass --skipLicenseCheck."
            )
        }
        let serial = Self.element("SerialNumber", in: licence) ?? ""
        let (database, _, _) = try openDatabase(configuration)
        try storage("save the licence") {
            try database.run(
                "INSERT INTO Configuration (Id, [JSON]) VALUES (?, json_object('LicenseText', ?, 'SerialNumber', ?)) "
                    + "ON CONFLICT (Id) DO UPDATE SET [JSON] = excluded.[JSON]",
                [.text(Self.licenseConfigurationId), .text(licence), .text(serial)]
            )
        }
        info("Licence saved\(serial.isEmpty ? "" : " (serial number \(serial))").")
    }

    /// The text of `<name>…</name>` in an XML licence.
    static func element(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"),
            let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[start.upperBound..<end.lowerBound])
    }

    // MARK: node

    func node() throws(OctopusServerError) {
        let configuration = try loadInstance()
        let drain = try options.bool("drain")
        let taskCap = try options.integer("taskCap", in: 0...1000)
        let wait = try options.integer("wait")
        guard drain != nil || taskCap != nil else {
            throw OctopusServerError(.usage, "Give --drain=true|false or --taskCap=N.")
        }
        if wait != nil && drain == nil {
            throw OctopusServerError(.usage, "--wait is only valid with --drain.")
        }
        let name = nodeName(of: configuration)
        let (database, _, _) = try openDatabase(configuration)
        try storage("change node '\(name)'") {
            try OctopusDatabase.registerNode(
                name,
                in: database,
                isInMaintenanceMode: drain,
                maxConcurrentTasks: taskCap
            )
            if drain == true && options.has("cancel-tasks") {
                let cancelled = try database.run(
                    "UPDATE ServerTask SET State = 'Canceled', [JSON] = json_set([JSON], '$.State', 'Canceled') "
                        + "WHERE State IN ('Executing', 'Cancelling') AND json_extract([JSON], '$.ServerNode') = ?",
                    [.text(name)]
                )
                info("Cancelled \(cancelled) task(s) running on '\(name)'.")
            }
        }
        if let drain {
            info(drain ? "Node '\(name)' is draining: it takes no new tasks." : "Node '\(name)' takes tasks again.")
        }
        if let taskCap { info("Task cap of node '\(name)' set to \(taskCap).") }
        if drain == true, let wait, wait > 0 {
            let deadline = Date().addingTimeInterval(Double(wait))
            while Date() < deadline {
                let running = try storage("count running tasks") {
                    try database.query(
                        "SELECT COUNT(*) FROM ServerTask WHERE State = 'Executing' "
                            + "AND json_extract([JSON], '$.ServerNode') = ?",
                        [.text(name)]
                    ).rows.first?.first?.integer ?? 0
                }
                if running == 0 { break }
                info("Waiting for \(running) task(s) on '\(name)' to finish")
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}
