import Foundation
public import Logging

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

    /// Reads the source instance: it must answer with the source API key, run the pinned version, have the space,
    /// and every name or glob must select at least one project.
    ///
    /// - Parameters:
    ///   - plan: The host's plan (a test instance's).
    ///   - secrets: Its secrets (`source_api_key`).
    /// - Returns: The selection.
    /// - Throws: ``RunnerError`` with one sentence saying what to fix; `OctopusAPIError` when the source cannot be
    ///   read.
    public static func select(
        plan: ProvisioningPlan.HostPlan,
        secrets: StepSecretValues
    ) async throws -> Selection {
        guard let source = plan.instance.source else {
            throw RunnerError("Instance \(plan.instance.name) has no `source:` to import projects from.")
        }
        let client = try OctopusClient(baseURL: source.url, apiKey: secrets.values[.sourceAPIKey])
        let root = try await client.root()
        guard let version = try? OctopusVersion(parsing: root.version), version == plan.instance.version else {
            throw RunnerError(
                "The source \(source.url) runs Octopus \(root.version) but the pinned version is "
                    + "\(plan.instance.version); pin \(root.version) (a test instance starts at the source's version), "
                    + "then upgrade it."
            )
        }
        var spaceId: String?
        var spaceName: String?
        let scope: OctopusScope
        if root.hasSpaces {
            let spaces = try await client.spaces()
            let wanted = source.space
            guard
                let space = spaces.first(where: { space in
                    wanted.map { space.name.lowercased() == $0.lowercased() } ?? space.isDefault
                })
            else {
                throw RunnerError(
                    "The source has no space \(wanted ?? "marked default"); set `source.space` to one of: "
                        + spaces.map(\.name).joined(separator: ", ") + "."
                )
            }
            spaceId = space.id
            spaceName = space.name
            scope = .space(space.id)
        } else {
            scope = .unscoped
        }
        let available = try await client.list(.projects, in: scope)
        var selected: [Selection.Project] = []
        for pattern in source.projects {
            let matches = available.filter { project in
                globMatches(pattern.lowercased(), (project.name ?? "").lowercased())
            }
            guard !matches.isEmpty else {
                let names = available.compactMap(\.name).sorted()
                throw RunnerError(
                    "The project pattern `\(pattern)` matches no project in \(spaceName ?? "the source") "
                        + "(it has: \(names.prefix(20).joined(separator: ", "))\(names.count > 20 ? ", …" : "")); "
                        + "correct `source.projects`."
                )
            }
            for match in matches where !selected.contains(where: { $0.id == match.id }) {
                selected.append(Selection.Project(id: match.id, name: match.name ?? match.id))
            }
        }
        return Selection(version: root.version, spaceId: spaceId, spaceName: spaceName, projects: selected)
    }

    /// The importer for ``HostProvisioner``.
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
            let selection = try await select(plan: plan, secrets: secrets)
            let sourceClient = try OctopusClient(baseURL: source.url, apiKey: secrets.values[.sourceAPIKey])
            return try await RESTVerifier.withInstanceClient(plan, secrets, logger: logger, environment: environment) {
                target in
                let targetRoot = try await target.root()
                var targetScope = OctopusScope.unscoped
                if targetRoot.hasSpaces {
                    let name = selection.spaceName ?? "Default"
                    let existing = try await target.spaces().first { $0.name.lowercased() == name.lowercased() }
                    let space: OctopusSpace
                    if let existing {
                        space = existing
                    } else {
                        // A fresh instance has only Default: the source's space is created, managed by the
                        // built-in Octopus Administrators team.
                        space = try await target.post(
                            OctopusSpace.self,
                            "/api/spaces",
                            body: .object([
                                "Name": .string(name), "SpaceManagersTeams": .array([.string("teams-administrators")]),
                            ])
                        )
                    }
                    targetScope = .space(space.id)
                }
                let present = Set(
                    try await target.list(.projects, in: targetScope).compactMap { $0.name?.lowercased() }
                )
                let missing = selection.projects.filter { !present.contains($0.name.lowercased()) }
                let names = selection.projects.map(\.name).joined(separator: ", ")
                let facts = ["projects": names, "source_version": selection.version]
                guard !missing.isEmpty else {
                    return StepScriptResult(
                        changed: false,
                        message: "The \(selection.projects.count) selected projects are already on the test instance.",
                        facts: facts
                    )
                }
                let secret: OctopusJSONValue = .object(["HasValue": .bool(true), "NewValue": .string(password)])
                let sourcePrefix = selection.spaceId.map { "/api/\($0)" } ?? "/api"
                let exported = try await sourceClient.post(
                    TaskReference.self,
                    "\(sourcePrefix)/projects/import-export/export",
                    body: .object([
                        "IncludedProjectIds": .array(missing.map { .string($0.id) }), "Password": secret,
                    ])
                )
                let sourceScope = selection.spaceId.map(OctopusScope.space)
                try await finished(
                    sourceClient,
                    exported.taskId,
                    scope: sourceScope,
                    what: "The export on the source",
                    timeout: taskTimeout,
                    interval: pollInterval
                )
                let artifacts = try await sourceClient.all(
                    OctopusResource.self,
                    "\(sourcePrefix)/artifacts",
                    query: [("regarding", exported.taskId)]
                )
                guard
                    let artifact = artifacts.first(where: {
                        ($0.document["Filename"]?.stringValue ?? "").lowercased().hasSuffix(".zip")
                    }),
                    let content = artifact.document["Links"]?["Content"]?.stringValue
                else {
                    throw RunnerError(
                        "The export task \(exported.taskId) succeeded but left no zip artifact on the source; see its "
                            + "task log there."
                    )
                }
                let fileName = artifact.document["Filename"]?.stringValue ?? "Octopus-Export.zip"
                let zip = try await sourceClient.download(content)
                let targetPrefix = targetScope == .unscoped ? "/api" : "/api/\(targetScope.spaceId ?? "")"
                let uploaded = try await target.upload(
                    OctopusJSONValue.self,
                    "\(targetPrefix)/projects/import-export/import-files",
                    field: "fileData",
                    fileName: fileName,
                    bytes: zip
                )
                let uploadedId = uploaded["UploadedFileId"]?.stringValue ?? uploaded["Id"]?.stringValue ?? fileName
                let imported = try await target.post(
                    TaskReference.self,
                    "\(targetPrefix)/projects/import-export/import",
                    body: .object([
                        "ImportSource": .object(["Type": .string("upload"), "UploadedFileId": .string(uploadedId)]),
                        "Password": secret,
                    ])
                )
                try await finished(
                    target,
                    imported.taskId,
                    scope: targetScope == .unscoped ? nil : targetScope,
                    what: "The import on the test instance",
                    timeout: taskTimeout,
                    interval: pollInterval
                )
                let arrived = Set(
                    try await target.list(.projects, in: targetScope).compactMap { $0.name?.lowercased() }
                )
                let absent = selection.projects.filter { !arrived.contains($0.name.lowercased()) }
                guard absent.isEmpty else {
                    throw RunnerError(
                        "The import task \(imported.taskId) succeeded but \(absent.map(\.name).joined(separator: ", ")) "
                            + "did not arrive; see its task log on the test instance."
                    )
                }
                return StepScriptResult(
                    changed: true,
                    message: "Imported \(missing.count) project(s) from the source: "
                        + missing.map(\.name).joined(separator: ", ") + ".",
                    facts: facts
                )
            }
        }
    }

    /// Waits for a task and throws one sentence when it did not succeed.
    private static func finished(
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

extension OctopusScope {
    /// The space's Id, or `nil` when unscoped.
    var spaceId: String? {
        if case .space(let id) = self { return id }
        return nil
    }
}
