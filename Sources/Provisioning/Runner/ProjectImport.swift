import Foundation
public import Logging
import Wire

/// The test-instance flow's `import-projects` step over Export/Import Projects (Octopus 2021.1 and later,
/// octopus-facts.md §4.5): the chosen projects are exported from the source instance, the zip artifact is
/// downloaded, uploaded to the test instance (`import-files`) and imported there (`ImportSource` type `upload`).
///
/// Projects already on the test instance are left alone (Octopus refuses to import a project that exists), so
/// a rerun imports nothing; a project that a pattern selects but the source does not have stops the step
/// before anything is exported.
public enum ProjectImport {
    /// Runs the step for one host: the source side through `source.url`, the test instance through an SSH
    /// forward. Returns what the step did, like a script's result.
    public typealias Importer =
        @Sendable (ProvisioningPlan.HostPlan, StepSecretValues) async throws -> StepScriptResult

    /// The projects a spec selects on its source instance.
    public struct Selection: Sendable, Hashable {
        /// The source's version, from `/api`.
        public var version: String
        /// The space's Id on the source (`nil` before 2019.1).
        public var spaceId: String?
        /// The space's name.
        public var spaceName: String?
        /// The selected projects, Id and name, in the source's order.
        public var projects: [Project]

        /// One project on the source.
        public struct Project: Sendable, Hashable {
            /// Its Id, such as `Projects-1`.
            public var id: String
            /// Its name.
            public var name: String
        }
    }

    /// Reads the source instance: it must answer with the source API key, run the pinned version, have every
    /// space `source.projects` names, and every name or glob must select at least one project in its space.
    ///
    /// - Parameters:
    ///   - plan: The host's plan (a test instance's).
    ///   - secrets: Its secrets (`source_api_key`).
    /// - Returns: One selection per space, in inventory order.
    /// - Throws: ``RunnerError`` with one sentence saying what to fix; `OctopusAPIError` when the source cannot be
    ///   read.
    public static func select(
        plan: ProvisioningPlan.HostPlan,
        secrets: StepSecretValues
    ) async throws -> [Selection] {
        guard let source = plan.instance.source, let url = source.url else {
            throw RunnerError("Instance \(plan.instance.name) has no `source.url` to read its projects from.")
        }
        let client = try OctopusClient(baseURL: url, apiKey: secrets.values[.sourceAPIKey])
        let root = try await client.root()
        // A version that does not parse is "not the pinned version", refused in words below.
        guard let version = try? OctopusVersion(parsing: root.version), version == plan.instance.version else {
            throw RunnerError(
                "The source \(url) runs Octopus \(root.version) but the pinned version is "
                    + "\(plan.instance.version); pin \(root.version) (a test instance starts at the source's version), "
                    + "then upgrade it."
            )
        }
        let spaces = root.hasSpaces ? try await client.spaces() : []
        var selections: [Selection] = []
        for chosen in source.selections {
            var spaceId: String?
            var spaceName: String?
            let scope: OctopusScope
            if root.hasSpaces {
                let wanted = chosen.space
                guard
                    let space = spaces.first(where: { space in
                        wanted.map { space.name.lowercased() == $0.lowercased() } ?? space.isDefault
                    })
                else {
                    throw RunnerError(
                        "The source has no space \(wanted ?? "marked default"); name one of its spaces in "
                            + "`source.projects` or `source.space`: " + spaces.map(\.name).joined(separator: ", ") + "."
                    )
                }
                spaceId = space.id
                spaceName = space.name
                scope = .space(space.id)
            } else {
                scope = .unscoped
            }
            let available = try await client.list(.projects, in: scope)
            let matched = matching(chosen.patterns, in: available, name: { $0.name ?? "" })
            if let pattern = matched.unmatched.first {
                let names = available.compactMap(\.name).sorted()
                throw RunnerError(
                    "The project pattern `\(pattern)` matches no project in \(spaceName ?? "the source") "
                        + "(it has: \(names.prefix(20).joined(separator: ", "))\(names.count > 20 ? ", …" : "")); "
                        + "correct `source.projects`."
                )
            }
            let selected = matched.selected.map { Selection.Project(id: $0.id, name: $0.name ?? $0.id) }
            selections.append(
                Selection(version: root.version, spaceId: spaceId, spaceName: spaceName, projects: selected)
            )
        }
        return selections
    }

    /// The selected projects' names, joined by `, ` (the `projects` fact the `projects` check reads).
    ///
    /// - Parameter selections: The selections.
    /// - Returns: The names.
    public static func names(_ selections: [Selection]) -> String {
        selections.flatMap(\.projects).map(\.name).joined(separator: ", ")
    }

    /// The importer for ``HostRun``.
    ///
    /// - Parameters:
    ///   - logger: The SSH layer's logger (for the forward to the test instance).
    ///   - environment: The environment the host's SSH secrets are read from.
    ///   - taskTimeout: How long an export or import task may run.
    /// - Returns: The importer.
    public static func make(
        logger: Logger,
        environment: [String: String],
        taskTimeout: Duration = .seconds(900),
        pollInterval: Duration = .seconds(2)
    ) -> Importer {
        { plan, secrets in
            guard let source = plan.instance.source, let password = secrets.values[.exportPassword] else {
                throw RunnerError("Instance \(plan.instance.name) needs `source:` with an export password.")
            }
            if let exportFile = source.exportFile {
                return try await RESTVerifier.withInstanceClient(
                    plan,
                    secrets,
                    logger: logger,
                    environment: environment
                ) { target in
                    try await ExportFileImport(
                        file: exportFile,
                        selection: source.selections.first ?? .init(space: nil, patterns: []),
                        target: target,
                        password: password,
                        taskTimeout: taskTimeout,
                        pollInterval: pollInterval
                    ).run()
                }
            }
            let selections = try await select(plan: plan, secrets: secrets)
            let sourceClient = try OctopusClient(baseURL: source.url ?? "", apiKey: secrets.values[.sourceAPIKey])
            return try await RESTVerifier.withInstanceClient(plan, secrets, logger: logger, environment: environment) {
                target in
                let hasSpaces = try await target.root().hasSpaces
                let mover = SpaceImport(
                    source: sourceClient,
                    target: target,
                    password: password,
                    taskTimeout: taskTimeout,
                    pollInterval: pollInterval
                )
                var imported: [String] = []
                for selection in selections {
                    imported += try await mover.run(selection, targetHasSpaces: hasSpaces)
                }
                let total = selections.reduce(0) { $0 + $1.projects.count }
                let facts = ["projects": names(selections), "source_version": selections.first?.version ?? ""]
                guard !imported.isEmpty else {
                    return StepScriptResult(
                        changed: false,
                        message: "The \(total) selected projects are already on the test instance.",
                        facts: facts
                    )
                }
                let spaces = selections.compactMap(\.spaceName)
                let across = spaces.count > 1 ? " (spaces \(spaces.joined(separator: ", ")))" : ""
                return StepScriptResult(
                    changed: true,
                    message: "Imported \(imported.count) project(s) from the source\(across): "
                        + imported.joined(separator: ", ") + ".",
                    facts: facts
                )
            }
        }
    }

    /// Moves one space's selection from the source to the test instance: the space is created there when missing,
    /// the projects it lacks are exported, downloaded, uploaded and imported, and their arrival is checked.
    struct SpaceImport {
        var source: OctopusClient
        var target: OctopusClient
        var password: String
        var taskTimeout: Duration
        var pollInterval: Duration

        /// Imports what `selection` names and the test instance lacks; returns the names imported (none when all
        /// are there already).
        func run(_ selection: Selection, targetHasSpaces: Bool) async throws -> [String] {
            let targetScope = try await target.scope(
                forSpaceNamed: targetHasSpaces ? selection.spaceName ?? "Default" : nil
            )
            let present = Set(try await target.list(.projects, in: targetScope).compactMap { $0.name?.lowercased() })
            let missing = selection.projects.filter { !present.contains($0.name.lowercased()) }
            guard !missing.isEmpty else { return [] }
            let secret: JSONValue = .object(["HasValue": .bool(true), "NewValue": .string(password)])
            let sourcePrefix = selection.spaceId.map { "/api/\($0)" } ?? "/api"
            let exported = try await source.post(
                TaskReference.self,
                "\(sourcePrefix)/projects/import-export/export",
                body: .object(["IncludedProjectIds": .array(missing.map { .string($0.id) }), "Password": secret])
            )
            try await finished(
                source,
                exported.taskId,
                scope: selection.spaceId.map(OctopusScope.space),
                what: "The export on the source",
                timeout: taskTimeout,
                interval: pollInterval
            )
            let artifacts = try await source.all(
                OctopusResource.self,
                "\(sourcePrefix)/artifacts",
                query: [("regarding", exported.taskId)]
            )
            guard
                let artifact = artifacts.first(where: {
                    ($0.document.member("Filename")?.stringValue ?? "").lowercased().hasSuffix(".zip")
                }),
                let content = artifact.document.member("Links")?.member("Content")?.stringValue
            else {
                throw RunnerError(
                    "The export task \(exported.taskId) succeeded but left no zip artifact on the source; see its "
                        + "task log there."
                )
            }
            let fileName = artifact.document.member("Filename")?.stringValue ?? "Octopus-Export.zip"
            let zip = try await source.download(content)
            try await target.importUpload(
                zip,
                fileName: fileName,
                into: targetScope,
                password: secret,
                timeout: taskTimeout,
                interval: pollInterval
            )
            let arrived = Set(try await target.list(.projects, in: targetScope).compactMap { $0.name?.lowercased() })
            let absent = selection.projects.filter { !arrived.contains($0.name.lowercased()) }
            guard absent.isEmpty else {
                throw RunnerError(
                    "The import succeeded but \(absent.map(\.name).joined(separator: ", ")) did not arrive; see its task "
                        + "log on the test instance."
                )
            }
            return missing.map(\.name)
        }
    }

    /// Imports an export zip made earlier (`source.export_file`) into the space `source.space` names (created when
    /// missing), unless every pattern already selects a project there; afterwards every pattern must select one.
    struct ExportFileImport {
        var file: String
        var selection: TestInstanceSource.ProjectPatterns
        var target: OctopusClient
        var password: String
        var taskTimeout: Duration
        var pollInterval: Duration

        func run() async throws -> StepScriptResult {
            let hasSpaces = try await target.root().hasSpaces
            let scope = try await target.scope(forSpaceNamed: hasSpaces ? selection.space ?? "Default" : nil)
            let fileName = (file as NSString).lastPathComponent
            let before = try await target.list(.projects, in: scope).compactMap(\.name)
            let present = matching(selection.patterns, in: before, name: { $0 })
            if present.unmatched.isEmpty {
                let chosen = present.selected
                return StepScriptResult(
                    changed: false,
                    message: "The \(chosen.count) project(s) of \(fileName) are already on the test instance.",
                    facts: ["projects": chosen.joined(separator: ", "), "export_file": fileName]
                )
            }
            let bytes: [UInt8]
            do {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw RunnerError(
                    "The export file \(file) cannot be read (\(error.localizedDescription)).",
                    underlying: error
                )
            }
            try await target.importUpload(
                bytes,
                fileName: fileName,
                into: scope,
                password: .object(["HasValue": .bool(true), "NewValue": .string(password)]),
                timeout: taskTimeout,
                interval: pollInterval
            )
            let after = try await target.list(.projects, in: scope).compactMap(\.name)
            let arrived = matching(selection.patterns, in: after, name: { $0 })
            let chosen = arrived.selected
            guard arrived.unmatched.isEmpty else {
                throw RunnerError(
                    "\(fileName) was imported but `\(arrived.unmatched.joined(separator: "`, `"))` selects no project on "
                        + "the test instance (it has: \(after.sorted().joined(separator: ", "))); correct `source.projects` "
                        + "or use another export."
                )
            }
            let new = chosen.filter { !before.contains($0) }
            return StepScriptResult(
                changed: true,
                message: "Imported \(fileName): \(new.isEmpty ? "no new project" : new.joined(separator: ", ")).",
                facts: ["projects": chosen.joined(separator: ", "), "export_file": fileName]
            )
        }
    }

    /// What project names or globs (`*`, `?`, case ignored) select among `items`: each item once, in the order the
    /// patterns first select them, and the patterns that select nothing.
    static func matching<Item: Equatable>(
        _ patterns: [String],
        in items: [Item],
        name: (Item) -> String
    ) -> (selected: [Item], unmatched: [String]) {
        var selected: [Item] = []
        var unmatched: [String] = []
        for pattern in patterns {
            let matches = items.filter { globMatches(pattern.lowercased(), name($0).lowercased()) }
            if matches.isEmpty { unmatched.append(pattern) }
            selected += matches.filter { !selected.contains($0) }
        }
        return (selected, unmatched)
    }

    /// Waits for a task and throws one sentence when it did not succeed.
    static func finished(
        _ client: OctopusClient,
        _ id: String,
        scope: OctopusScope?,
        what: String,
        timeout: Duration,
        interval: Duration
    ) async throws {
        let task = try await client.waitForTask(id, in: scope, timeout: timeout, interval: interval)
        guard task.finishedSuccessfully else {
            let reason = task.errorMessage.map { ": \($0)" } ?? ""
            throw RunnerError(
                "\(what) (task \(id)) ended \(task.state)\(reason); fix the cause, then run provision again."
            )
        }
    }

    /// `{"TaskId": "ServerTasks-1"}`, the answer to export and import.
    struct TaskReference: Decodable {
        var taskId: String

        enum CodingKeys: String, CodingKey {
            case taskId = "TaskId"
        }
    }
}

extension OctopusClient {
    /// The scope of the space named `name` on this instance, created (managed by the built-in Octopus
    /// Administrators team) when missing; unscoped for `nil` (an instance without spaces).
    func scope(forSpaceNamed name: String?) async throws -> OctopusScope {
        guard let name else { return .unscoped }
        if let existing = try await spaces().first(where: { $0.name.lowercased() == name.lowercased() }) {
            return .space(existing.id)
        }
        let created = try await post(
            OctopusSpace.self,
            "/api/spaces",
            body: .object(["Name": .string(name), "SpaceManagersTeams": .array([.string("teams-administrators")])])
        )
        return .space(created.id)
    }

    /// Uploads an export zip to `import-files` in `scope` and imports it (`ImportSource` type `upload`), waiting for
    /// the import task; throws one sentence when the task does not succeed.
    func importUpload(
        _ zip: [UInt8],
        fileName: String,
        into scope: OctopusScope,
        password: JSONValue,
        timeout: Duration,
        interval: Duration
    ) async throws {
        let prefix = scope.spaceId.map { "/api/\($0)" } ?? "/api"
        let uploaded = try await upload(
            JSONValue.self,
            "\(prefix)/projects/import-export/import-files",
            field: "fileData",
            fileName: fileName,
            bytes: zip
        )
        let uploadedId = uploaded["UploadedFileId"]?.stringValue ?? uploaded["Id"]?.stringValue ?? fileName
        let imported = try await post(
            ProjectImport.TaskReference.self,
            "\(prefix)/projects/import-export/import",
            body: .object([
                "ImportSource": .object(["Type": .string("upload"), "UploadedFileId": .string(uploadedId)]),
                "Password": password,
            ])
        )
        try await ProjectImport.finished(
            self,
            imported.taskId,
            scope: scope.spaceId.map(OctopusScope.space),
            what: "The import on the test instance",
            timeout: timeout,
            interval: interval
        )
    }
}

extension OctopusScope {
    /// The space's Id, or `nil` when unscoped.
    var spaceId: String? {
        if case .space(let id) = self { return id }
        return nil
    }
}
