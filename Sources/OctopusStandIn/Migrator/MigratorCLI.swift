import Foundation
import Wire

/// `Octopus.Migrator` as the stand-in plays it (octopus-facts.md §4.6): `partial-export` writes some
/// projects, and what they need, to a folder with their sensitive values encrypted with a password;
/// `import` writes such a folder into another instance's database, matching documents by name, in one
/// transaction. Both run on the server's machine against the instance's database (`--instance` or
/// `--config`), like the real tool.
///
/// What is exported follows ``ProjectExporter`` with the Migrator's switches: targets and workers unless
/// `--ignore-machines`, releases unless `--ignore-history`, deployments and their tasks unless
/// `--ignore-history` or `--ignore-deployments`, certificates unless `--ignore-certificates`. Triggers,
/// packages and audit events are never exported. The folder format is ``ExportBundle``'s.
///
/// The library never prints: lines go to the callbacks given to ``run(_:output:errorOutput:)``.
public struct MigratorCLI {
    /// The environment variable the stand-in reads `--password` from when the flag is not given, so a
    /// script can keep the password out of the process's arguments. The real Migrator has only the flag.
    public static let passwordVariable = "OCTOPUS_MIGRATOR_PASSWORD"

    /// The binary's version (from the package's `VERSION` file), or why there is none.
    public var version: Result<StandInVersion, StandInPackageError>
    /// Where the SQL Servers' databases and the instance registry are.
    public var dataFolder: DataFolder
    /// The process environment.
    public var environment: [String: String]

    /// - Parameters:
    ///   - version: The binary's version, usually ``StandInPackage/version(argv0:environment:)``.
    ///   - dataFolder: The stand-in data folder.
    ///   - environment: The process environment (read for ``passwordVariable``).
    public init(
        version: Result<StandInVersion, StandInPackageError>,
        dataFolder: DataFolder,
        environment: [String: String] = [:]
    ) {
        self.version = version
        self.dataFolder = dataFolder
        self.environment = environment
    }

    private struct Command {
        var name: String
        var summary: String
        var options: [OptionSpec]
    }

    private static let commands = [
        Command(
            name: "partial-export",
            summary: "Exports projects, and what they need, to a directory",
            options: OptionSpec.instance + [
                .value("directory"), .flag("clean"), .value("password"), .flag("include-tasklogs"),
                .value("inline-scripts"), .value("projectGroup"), .value("project"), .value("releaseVersion"),
                .flag("ignore-history"), .flag("ignore-deployments"), .flag("ignore-tenants"),
                .flag("ignore-certificates"), .flag("ignore-machines"),
            ]
        ),
        Command(
            name: "import",
            summary: "Imports a directory made by partial-export",
            options: OptionSpec.instance + [
                .value("directory"), .value("password"), .flag("dry-run"), .flag("overwrite"), .flag("force"),
                .flag("include-tasklogs"), .flag("ignore-version-check"),
            ]
        ),
        Command(name: "version", summary: "Shows the Octopus version", options: [.value("format")]),
    ]

    /// Runs one command.
    /// - Parameters:
    ///   - arguments: The arguments after the program name, e.g. `["partial-export", "--instance", …]`.
    ///   - output: Receives progress and result lines.
    ///   - errorOutput: Receives the error line when the command fails.
    /// - Returns: The exit code: 0, 1 for an unknown command or option, 100 for a failure.
    public func run(
        _ arguments: [String],
        output: @escaping (String) -> Void,
        errorOutput: @escaping (String) -> Void
    ) -> Int32 {
        OctopusServerError.exitCode(errorOutput: errorOutput) { () throws(OctopusServerError) in
            try dispatch(arguments, output: output)
        }
    }

    private func dispatch(_ arguments: [String], output: @escaping (String) -> Void) throws(OctopusServerError) {
        let first = arguments.first?.lowercased() ?? "help"
        if ["help", "--help", "-h", "/?"].contains(first) {
            help().forEach(output)
            return
        }
        guard let command = Self.commands.first(where: { $0.name == first }) else {
            let known = ["export", "migrate"].contains(first)
            throw OctopusServerError(
                .usage,
                known
                    ? "Command '\(arguments[0])' is not supported by the stand-in's Octopus.Migrator; it plays "
                        + "partial-export and import."
                    : "Command '\(arguments[0])' is not supported. Run `Octopus.Migrator help` to see the commands."
            )
        }
        let version: StandInVersion
        switch self.version {
        case .success(let found): version = found
        case .failure(let error): throw OctopusServerError(.noVersion, error.message)
        }
        let options = try ParsedOptions.parse(
            Array(arguments.dropFirst()),
            specs: command.options + OptionSpec.common + [.flag("help")],
            version: version
        )
        if options.has("help") {
            output("Usage: Octopus.Migrator \(command.name) [<options>]")
            for option in command.options { output("      --\(option.name)\(option.takesValue ? "=VALUE" : "")") }
            return
        }
        let server = OctopusServerCLI(
            version: .success(version),
            dataFolder: dataFolder,
            environment: environment,
            selfInvocation: [],
            serve: { _ in }
        )
        let context = VerbContext(
            cli: server,
            version: version,
            options: options,
            info: options.has("noconsolelogging") ? { _ in } : output,
            data: output
        )
        switch command.name {
        case "partial-export": try partialExport(context)
        case "import": try importDirectory(context)
        default: context.data(version.description)
        }
    }

    private func help() -> [String] {
        var lines = [
            "Octopus.Migrator \((try? version.get())?.description ?? "(unversioned)") (octopus-standin)",
            "Usage: Octopus.Migrator <command> [<options>]", "", "Where <command> is one of:",
        ]
        for command in Self.commands {
            lines.append("  \(command.name.padding(toLength: 18, withPad: " ", startingAt: 0))\(command.summary)")
        }
        return lines
    }

    // MARK: - partial-export

    private func partialExport(_ context: VerbContext) throws(OctopusServerError) {
        let options = context.options
        let directory = context.absolute(try required(context, "directory"))
        let password = try self.password(context)
        let names = options.all("project")
        let groups = options.all("projectGroup")
        guard !names.isEmpty || !groups.isEmpty else {
            throw OctopusServerError(.usage, "Name the projects to export with --project (or --projectGroup).")
        }
        if let inline = options.value("inline-scripts"),
            !["copytofiles", "extracttofiles", "leaveinline"].contains(inline.lowercased())
        {
            throw OctopusServerError(
                .usage,
                "--inline-scripts takes CopyToFiles, ExtractToFiles or LeaveInline, not '\(inline)'."
            )
        }
        let (database, masterKey, configuration) = try openInstance(context)
        let projectIds = try resolveProjects(names: names, groups: groups, in: database)

        var exportOptions = ProjectExportOptions()
        exportOptions.skipDefaultLifecycleEnvironments = false
        exportOptions.includeMachines = !options.has("ignore-machines")
        exportOptions.includeReleases = !options.has("ignore-history")
        exportOptions.includeDeployments = !options.has("ignore-history") && !options.has("ignore-deployments")
        exportOptions.includeCertificates = !options.has("ignore-certificates")
        exportOptions.releaseVersion = options.value("releaseVersion")
        let protection: ExportPassword
        let content: ProjectExportContent
        do {
            protection = try ExportPassword(newPassword: password)
            content = try ProjectExporter(database: database, masterKey: masterKey, options: exportOptions)
                .export(projectIds: projectIds, protect: protection.encrypt)
        } catch {
            throw OctopusServerError(.failed, error.message)
        }
        var bundle = ExportBundle(
            kind: .partialExport,
            octopusVersion: context.version,
            exportedAt: OctopusTime.timestamp(),
            serverTaskId: nil,
            spaces: content.spaces,
            projects: content.projects,
            references: content.references,
            rows: content.rows,
            protection: protection.protection
        )
        for flag in [
            "ignore-history", "ignore-deployments", "ignore-machines", "ignore-certificates", "ignore-tenants",
            "include-tasklogs",
        ] {
            bundle.options[flag] = .bool(options.has(flag))
        }
        if options.has("include-tasklogs") {
            let folder = try taskLogFolder(database, context: context, configuration: configuration)
            for row in bundle.rows("ServerTask") {
                if let data = FileManager.default.contents(atPath: "\(folder)/\(row.id.lowercased()).log.txt") {
                    bundle.taskLogs.append((row.id, Array(data)))
                }
            }
        }
        try prepare(directory, clean: options.has("clean"))
        for file in bundle.files() {
            let path = "\(directory)/\(file.name)"
            do {
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true
                )
                try Data(file.data).write(to: URL(fileURLWithPath: path))
            } catch {
                throw OctopusServerError(.failed, "Cannot write \(path): \(error)")
            }
        }
        for project in content.projects {
            context.info("Exported project '\(project.name)' (\(project.id)).")
        }
        context.info("Documents: \(OctopusAPI.counts(content.rows)).")
        context.data(
            "Partial export of \(content.projects.count) project(s) written to \(directory) (Octopus \(context.version))."
        )
    }

    /// The Ids of the projects named by `--project` and of every project in the `--projectGroup`s.
    private func resolveProjects(
        names: [String],
        groups: [String],
        in database: SQLiteDatabase
    ) throws(OctopusServerError) -> [String] {
        var ids: [String] = []
        try storage("find the projects") {
            let hasSpaces = try database.tableExists("Space")
            for name in names {
                let found = try database.query(
                    "SELECT Id, \(hasSpaces ? "SpaceId" : "NULL") FROM Project WHERE Name = ? ORDER BY Id",
                    [.text(name)]
                ).rows
                guard let first = found.first?.first?.text else {
                    throw OctopusServerError(.failed, "There is no project named '\(name)' to export.")
                }
                guard found.count == 1 else {
                    let spaces = found.map { $0[1].description }.joined(separator: ", ")
                    throw OctopusServerError(
                        .failed,
                        "More than one project is named '\(name)' (in \(spaces)); the Migrator cannot tell them apart."
                    )
                }
                if !ids.contains(first) { ids.append(first) }
            }
            for group in groups {
                let groupIds = try database.query("SELECT Id FROM ProjectGroup WHERE Name = ?", [.text(group)]).rows
                    .compactMap { $0.first?.text }
                guard !groupIds.isEmpty else {
                    throw OctopusServerError(.failed, "There is no project group named '\(group)' to export.")
                }
                for groupId in groupIds {
                    let members = try database.query(
                        "SELECT Id FROM Project WHERE json_valid([JSON]) AND json_extract([JSON], '$.ProjectGroupId') = ? "
                            + "COLLATE NOCASE ORDER BY length(Id), Id",
                        [.text(groupId)]
                    ).rows.compactMap { $0.first?.text }
                    for member in members where !ids.contains(member) { ids.append(member) }
                }
            }
        }
        return ids
    }

    /// Makes an empty export directory: creates it, or empties it with `--clean`; a directory that holds
    /// files is refused without `--clean`.
    private func prepare(_ directory: String, clean: Bool) throws(OctopusServerError) {
        let manager = FileManager.default
        let contents = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
        if !contents.isEmpty {
            guard clean else {
                throw OctopusServerError(
                    .failed,
                    "The directory \(directory) is not empty; give --clean to purge it before exporting, or choose "
                        + "another directory."
                )
            }
            for item in contents {
                do {
                    try manager.removeItem(atPath: "\(directory)/\(item)")
                } catch {
                    throw OctopusServerError(.failed, "Cannot clean \(directory)/\(item): \(error)")
                }
            }
        }
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw OctopusServerError(.failed, "Cannot create the directory \(directory): \(error)")
        }
    }

    // MARK: - import

    private func importDirectory(_ context: VerbContext) throws(OctopusServerError) {
        let options = context.options
        let directory = context.absolute(try required(context, "directory"))
        let password = try self.password(context)
        let entries = try readDirectory(directory)
        let bundle: ExportBundle
        do {
            bundle = try ExportBundle.parse(entries, source: "The directory \(directory)")
        } catch {
            throw OctopusServerError(.failed, error.message)
        }
        guard bundle.kind == .partialExport else {
            throw OctopusServerError(
                .failed,
                "The directory \(directory) holds an Export/Import Projects export; import its zip with the REST API "
                    + "(POST /api/{spaceId}/projects/import-export/import)."
            )
        }
        if bundle.octopusVersion != context.version && !options.has("ignore-version-check") {
            throw OctopusServerError(
                .failed,
                bundle.octopusVersion > context.version
                    ? "The export in \(directory) was made by Octopus \(bundle.octopusVersion), newer than this Octopus "
                        + "Server (\(context.version)); the Migrator cannot import into an older version. Import it into "
                        + "Octopus \(bundle.octopusVersion)."
                    : "The export in \(directory) was made by Octopus \(bundle.octopusVersion), but this Octopus Server "
                        + "is \(context.version); the Migrator imports only an export of the same version. Install "
                        + "Octopus \(bundle.octopusVersion), import, then upgrade (--ignore-version-check skips this "
                        + "check at your own risk)."
            )
        }
        let unlocked: ExportPassword
        do {
            unlocked = try ExportPassword(password: password, unlocking: bundle.protection)
        } catch {
            throw OctopusServerError(.failed, error.message)
        }
        let (database, masterKey, configuration) = try openInstance(context)
        let overwrite = options.has("overwrite")
        let dryRun = options.has("dry-run")
        let summary: ProjectImportSummary
        do {
            summary = try ProjectImporter(
                database: database,
                masterKey: masterKey,
                options: ProjectImportOptions(
                    existingProject: overwrite ? .overwrite : .skip,
                    overwriteShared: overwrite,
                    targetSpace: nil
                )
            ).apply(bundle, password: unlocked, commit: !dryRun)
        } catch {
            throw OctopusServerError(.failed, error.message)
        }
        summary.lines.forEach(context.info)
        for warning in summary.warnings { context.info("Warning: \(warning)") }
        if options.has("include-tasklogs"), !dryRun, !summary.taskIds.isEmpty {
            let folder = try taskLogFolder(database, context: context, configuration: configuration)
            for log in bundle.taskLogs {
                guard let newId = summary.taskIds[log.taskId] else { continue }
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    try Data(log.data).write(to: URL(fileURLWithPath: "\(folder)/\(newId.lowercased()).log.txt"))
                } catch {
                    throw OctopusServerError(.failed, "Cannot write the task log of \(newId) in \(folder): \(error)")
                }
            }
        }
        let imported = summary.imported.isEmpty ? "none" : summary.imported.joined(separator: ", ")
        let skipped =
            summary.skipped.isEmpty
            ? "" : "; skipped (already exist, --overwrite replaces them): \(summary.skipped.joined(separator: ", "))"
        context.data(
            (dryRun ? "Dry run, nothing was committed. Would import" : "Imported")
                + " \(summary.imported.count) project(s) from \(directory): \(imported)\(skipped)."
        )
    }

    /// Every file of an export directory, paths relative to it.
    private func readDirectory(_ directory: String) throws(OctopusServerError) -> [ZipArchive.Entry] {
        let manager = FileManager.default
        guard manager.fileExists(atPath: "\(directory)/\(ExportBundle.metadataFile)") else {
            throw OctopusServerError(
                .failed,
                "The directory \(directory) holds no Migrator export (no \(ExportBundle.metadataFile)); run "
                    + "`Octopus.Migrator partial-export` first and copy its directory here."
            )
        }
        guard let enumerator = manager.enumerator(atPath: directory) else {
            throw OctopusServerError(.failed, "Cannot read the directory \(directory).")
        }
        var entries: [ZipArchive.Entry] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = "\(directory)/\(relative)"
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard let data = manager.contents(atPath: path) else {
                throw OctopusServerError(.failed, "Cannot read \(path).")
            }
            entries.append(ZipArchive.Entry(name: relative, data: Array(data)))
        }
        return entries.sorted { $0.name < $1.name }
    }

    // MARK: - Shared

    /// The instance's database (its schema must be this binary's version) and Master Key.
    private func openInstance(
        _ context: VerbContext
    ) throws(OctopusServerError) -> (SQLiteDatabase, MasterKey, InstanceConfiguration) {
        let configuration = try context.loadInstance()
        let opened = try context.openDatabase(configuration)
        guard let keyText = configuration[text: InstanceConfiguration.Key.masterKey] else {
            throw OctopusServerError(
                .masterKey,
                "Instance '\(context.instanceName)' has no Master Key configured; run `Octopus.Server database "
                    + "--instance \(context.instanceName) --masterKey …` first."
            )
        }
        let key = try context.masterKey(keyText)
        do {
            try key.verify(against: opened.database)
        } catch {
            throw OctopusServerError(.masterKey, error.message)
        }
        return (opened.database, key, configuration)
    }

    /// Where the instance's task logs are: the `server-folders` row's `LogsDirectory`, else `<home>/TaskLogs`
    /// (what the server uses).
    private func taskLogFolder(
        _ database: SQLiteDatabase,
        context: VerbContext,
        configuration: InstanceConfiguration
    ) throws(OctopusServerError) -> String {
        let stored = try storage("read the server folders") {
            try database.query(
                "SELECT json_extract([JSON], '$.LogsDirectory') FROM Configuration WHERE Id = 'server-folders' "
                    + "AND json_valid([JSON])"
            ).rows.first?.first?.text
        }
        return stored ?? "\(context.home(of: configuration))/TaskLogs"
    }

    private func required(_ context: VerbContext, _ name: String) throws(OctopusServerError) -> String {
        guard let value = context.options.value(name), !value.isEmpty else {
            throw OctopusServerError(.usage, "Missing the option --\(name).")
        }
        return value
    }

    private func password(_ context: VerbContext) throws(OctopusServerError) -> String {
        if let value = context.options.value("password"), !value.isEmpty { return value }
        if let value = environment[Self.passwordVariable], !value.isEmpty { return value }
        throw OctopusServerError(
            .usage,
            "Missing the option --password (the password that protects the export's sensitive values)."
        )
    }
}
