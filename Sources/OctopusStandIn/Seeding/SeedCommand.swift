import Foundation

/// `octopus-standin seed`: makes a "production" of a given version and everything a clone starts from:
/// its database (also left in the stand-in's data folder, so a production instance can serve it), a full
/// `.bak` backup of it, its server folders, its Master Key in a 0600 file, and `seed.json` describing what
/// was seeded.
///
/// ```
/// octopus-standin seed --version 2023.3.13026 --out DIR \
///     --target-endpoint https://127.0.20.1:10933/ --webhook-url http://127.0.20.2:8090/hook \
///     --server-uri https://octopus.example.com [--spaces 2 --projects 4 --targets 3 --workers 2 \
///     --triggers 2 --subscriptions 1 --queued-tasks 2 --task-logs 200 --packages 3 --package-size BYTES] \
///     [--sql-server production-sql] [--database OctopusDeploy]
/// ```
/// Writes `DIR/OctopusDeploy.bak`, `DIR/folders/{Packages,Artifacts,TaskLogs,EventExports,Imports}`,
/// `DIR/master-key`, `DIR/api-key` (production's admin API key; both 0600) and `DIR/seed.json`.
public enum SeedCommand {
    /// Runs the command; returns the exit status (0 done, 1 usage, 100 failure).
    public static func run(
        _ arguments: [String],
        environment: [String: String],
        output: (String) -> Void,
        errorOutput: (String) -> Void
    ) -> Int32 {
        var values: [String: String] = [:]
        var index = 0
        let known: Set<String> = [
            "version", "out", "target-endpoint", "webhook-url", "server-uri", "spaces", "projects", "targets",
            "workers", "triggers", "subscriptions", "queued-tasks", "task-logs", "packages", "package-size",
            "sql-server", "database",
        ]
        while index < arguments.count {
            var name = arguments[index]
            guard name.hasPrefix("--") else {
                errorOutput("seed: unexpected argument '\(name)'; options are --name value.")
                return 1
            }
            name.removeFirst(2)
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else if index + 1 < arguments.count {
                index += 1
                value = arguments[index]
            }
            guard known.contains(name), let value else {
                errorOutput(
                    "seed: unknown option or missing value: --\(name). Options: \(known.sorted().joined(separator: ", "))."
                )
                return 1
            }
            values[name] = value
            index += 1
        }
        for required in ["version", "out", "target-endpoint", "webhook-url", "server-uri"] where values[required] == nil
        {
            errorOutput("seed: --\(required) is required.")
            return 1
        }
        guard let version = StandInVersion(values["version"] ?? "") else {
            errorOutput("seed: '\(values["version"] ?? "")' is not an Octopus version (e.g. 2023.3.13026 or 3.17.14).")
            return 1
        }
        var plan = SeedPlan(
            targetEndpoint: values["target-endpoint"] ?? "",
            webhookURL: values["webhook-url"] ?? "",
            serverURI: values["server-uri"] ?? ""
        )
        let counts: [(String, WritableKeyPath<SeedPlan, Int>)] = [
            ("spaces", \.spaces), ("projects", \.projects), ("targets", \.targets), ("workers", \.workers),
            ("triggers", \.triggers), ("subscriptions", \.subscriptions), ("queued-tasks", \.queuedTasks),
            ("task-logs", \.taskLogFiles), ("packages", \.packageFiles), ("package-size", \.packageSize),
        ]
        for (name, keyPath) in counts {
            guard let text = values[name] else { continue }
            guard let count = Int(text), count >= 0 else {
                errorOutput("seed: --\(name) takes a whole number ≥ 0, not '\(text)'.")
                return 1
            }
            plan[keyPath: keyPath] = count
        }
        do {
            let out = absolute(values["out"] ?? "")
            let summary = try seed(
                version: version,
                plan: plan,
                out: out,
                dataFolder: DataFolder(environment: environment),
                server: values["sql-server"] ?? "production-sql",
                database: values["database"] ?? "OctopusDeploy"
            )
            output(
                "Seeded Octopus \(version): \(summary.spaces.count) space(s), \(summary.projects) projects, "
                    + "\(summary.targets) targets, \(summary.workers) workers, \(summary.triggers) triggers, "
                    + "\(summary.subscriptions) subscriptions, \(summary.queuedTasks) queued tasks."
            )
            output("Backup: \(out)/OctopusDeploy.bak; folders: \(out)/folders; master key: \(out)/master-key (0600).")
            return 0
        } catch {
            errorOutput("seed: \(error)")
            return 100
        }
    }

    /// Seeds a production database, backs it up and writes its folders, key and summary under `out`.
    /// - Returns: What was seeded.
    public static func seed(
        version: StandInVersion,
        plan: SeedPlan,
        out: String,
        dataFolder: DataFolder,
        server: String,
        database name: String
    ) throws -> SeedSummary {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: out, withIntermediateDirectories: true)
        let features = StandInFeatures(version: version)
        let masterKey = MasterKey.generate()
        let database = try OctopusDatabase.create(
            in: dataFolder,
            server: server,
            database: name,
            version: version,
            masterKey: masterKey
        )
        var seeder = Seeder(
            database: database,
            plan: plan,
            version: version.description,
            features: Seeder.Features(spaces: features.hasSpaces, workers: features.hasWorkers),
            encrypt: { masterKey.encrypt($0) }
        )
        var summary = try seeder.populate()
        let foldersRoot = "\(out)/folders"
        var folders = ServerFolders()
        folders.packagesDirectory = "\(foldersRoot)/Packages"
        folders.artifactsDirectory = "\(foldersRoot)/Artifacts"
        folders.taskLogsDirectory = "\(foldersRoot)/TaskLogs"
        folders.eventExportsDirectory = features.hasEventExports ? "\(foldersRoot)/EventExports" : nil
        folders.importsDirectory = features.hasImportsFolder ? "\(foldersRoot)/Imports" : nil
        try folders.write(to: database)
        let written = try SeedFolders.write(
            under: foldersRoot,
            plan: plan,
            spaceIds: summary.spaces.isEmpty ? [""] : summary.spaces,
            features: SeedFolders.Features(
                spaces: features.hasSpaces,
                eventExports: features.hasEventExports,
                imports: features.hasImportsFolder
            )
        )
        summary.folderFiles = written.files
        summary.folderBytes = written.bytes

        let backup = "\(out)/OctopusDeploy.bak"
        try? fileManager.removeItem(atPath: backup)
        try DatabaseBackup.backup(dataFolder: dataFolder, server: server, database: name, to: backup, append: false)
        /// Writes `text` to a file only this user can read, replacing what was there.
        func writePrivate(_ text: String, to path: String, what: String) throws {
            // A file that is not there needs no removing; one that cannot be replaced fails the write below.
            try? fileManager.removeItem(atPath: path)
            guard
                fileManager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            else {
                throw SeedError("cannot write the \(what) file \(path)")
            }
        }
        try writePrivate(masterKey.base64, to: "\(out)/master-key", what: "master key")
        try writePrivate(seeder.apiKey, to: "\(out)/api-key", what: "API key")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: "\(out)/seed.json"))
        return summary
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// A seeding failure.
struct SeedError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
