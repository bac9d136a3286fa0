import Foundation
import Wire

/// What `octoprov drift` compares: each project of the source (production) and of its clone, read over the REST API
/// (octopus-facts.md §4), as the few numbers that move when someone changes the project.
///
/// A clone is production's database at the time of the backup, so anything that differs now is a change made on
/// production since (or, rarely, on the clone: both are reported the same way, naming what differs).
public struct ProjectSnapshot: Sendable, Hashable, Codable {
    /// The space's name (empty before 2019.1, which has no spaces).
    public var space: String
    /// The project's name, which matches a project between the two instances.
    public var name: String
    /// The project's Id.
    public var id: String
    /// `LastModifiedOn` of the project's settings, when the server gives it.
    public var lastModifiedOn: String?
    /// The deployment process's `Version` (it goes up by one on every saved change).
    public var processVersion: Int?
    /// The project variable set's `Version`.
    public var variableSetVersion: Int?
    /// The versions of the project's releases, sorted.
    public var releases: [String]

    /// Creates a snapshot.
    ///
    /// - Parameters:
    ///   - space: The space's name.
    ///   - name: The project's name.
    ///   - id: Its Id.
    ///   - lastModifiedOn: `LastModifiedOn`.
    ///   - processVersion: The deployment process's `Version`.
    ///   - variableSetVersion: The variable set's `Version`.
    ///   - releases: Release versions.
    public init(
        space: String,
        name: String,
        id: String,
        lastModifiedOn: String?,
        processVersion: Int?,
        variableSetVersion: Int?,
        releases: [String]
    ) {
        self.space = space
        self.name = name
        self.id = id
        self.lastModifiedOn = lastModifiedOn
        self.processVersion = processVersion
        self.variableSetVersion = variableSetVersion
        self.releases = releases.sorted()
    }

    /// `Space/Project` (`Project` without spaces), how the report names a project.
    public var qualifiedName: String { space.isEmpty ? name : "\(space)/\(name)" }

    /// The key that matches a project between the two instances: space and name, without regard to case.
    var key: String { "\(space.lowercased())/\(name.lowercased())" }
}

/// One project that differs between the source and the clone.
public struct ProjectDrift: Sendable, Hashable, Codable {
    /// How it differs.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// On the source only: created since the clone was made.
        case added
        /// On the clone only: deleted from the source since.
        case removed
        /// On both, with different versions, releases or modification time.
        case changed
    }

    /// `Space/Project`.
    public var project: String
    /// How it differs.
    public var kind: Kind
    /// What differs, one short phrase each (`deployment process version 3 → 5`).
    public var details: [String]
}

/// The comparison of a source with its clone.
public struct DriftReport: Sendable, Hashable, Codable {
    /// The projects that differ, sorted by name.
    public var projects: [ProjectDrift]
    /// How many projects the source has.
    public var sourceProjects: Int
    /// How many projects the clone has.
    public var cloneProjects: Int

    /// The number a nightly job thresholds: projects added, removed or changed.
    public var count: Int { projects.count }

    /// Compares two sets of snapshots, matching projects by space and name.
    ///
    /// - Parameters:
    ///   - source: The source's projects (production).
    ///   - clone: The clone's projects.
    /// - Returns: The report.
    public static func compare(source: [ProjectSnapshot], clone: [ProjectSnapshot]) -> DriftReport {
        let cloneByKey = Dictionary(clone.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let sourceKeys = Set(source.map(\.key))
        var drifts: [ProjectDrift] = []
        for project in source {
            guard let copy = cloneByKey[project.key] else {
                drifts.append(ProjectDrift(project: project.qualifiedName, kind: .added, details: ["not on the clone"]))
                continue
            }
            let details = differences(source: project, clone: copy)
            if !details.isEmpty {
                drifts.append(ProjectDrift(project: project.qualifiedName, kind: .changed, details: details))
            }
        }
        for project in clone where !sourceKeys.contains(project.key) {
            drifts.append(ProjectDrift(project: project.qualifiedName, kind: .removed, details: ["not on the source"]))
        }
        drifts.sort { $0.project.lowercased() < $1.project.lowercased() }
        return DriftReport(projects: drifts, sourceProjects: source.count, cloneProjects: clone.count)
    }

    /// What differs between two snapshots of one project.
    static func differences(source: ProjectSnapshot, clone: ProjectSnapshot) -> [String] {
        func number(_ value: Int?) -> String { value.map(String.init) ?? "none" }
        var details: [String] = []
        if source.processVersion != clone.processVersion {
            details.append(
                "deployment process version \(number(clone.processVersion)) → \(number(source.processVersion))"
            )
        }
        if source.variableSetVersion != clone.variableSetVersion {
            details.append(
                "variable set version \(number(clone.variableSetVersion)) → \(number(source.variableSetVersion))"
            )
        }
        let newReleases = source.releases.filter { !clone.releases.contains($0) }
        let goneReleases = clone.releases.filter { !source.releases.contains($0) }
        if !newReleases.isEmpty {
            details.append("new release(s) \(newReleases.joined(separator: ", "))")
        }
        if !goneReleases.isEmpty {
            details.append("release(s) \(goneReleases.joined(separator: ", ")) no longer on the source")
        }
        if source.lastModifiedOn != clone.lastModifiedOn {
            details.append(
                "settings modified \(source.lastModifiedOn ?? "at an unknown time") (clone: "
                    + "\(clone.lastModifiedOn ?? "unknown"))"
            )
        }
        return details
    }
}

/// Reads ``ProjectSnapshot``s from an instance's REST API.
public enum DriftReader {
    /// Every project of every space (the default space only on servers without spaces), with its process and
    /// variable-set versions and its releases.
    ///
    /// - Parameter client: A client for the instance.
    /// - Returns: The snapshots, in the server's order.
    /// - Throws: `OctopusAPIError` when the instance cannot be read.
    public static func snapshots(_ client: OctopusClient) async throws -> [ProjectSnapshot] {
        let root = try await client.root()
        var scopes: [(name: String, prefix: String, scope: OctopusScope)] = []
        if root.hasSpaces {
            for space in try await client.spaces() {
                scopes.append((space.name, "/api/\(space.id)", .space(space.id)))
            }
        } else {
            scopes.append(("", "/api", .unscoped))
        }
        var snapshots: [ProjectSnapshot] = []
        for (spaceName, prefix, scope) in scopes {
            for project in try await client.list(.projects, in: scope) {
                let document = project.document
                var processVersion: Int?
                if let processId = document.member("DeploymentProcessId")?.stringValue {
                    let process = try await client.get(
                        JSONValue.self,
                        "\(prefix)/deploymentprocesses/\(processId)"
                    )
                    processVersion = process.member("Version")?.intValue
                }
                var variableSetVersion: Int?
                if let variableSetId = document.member("VariableSetId")?.stringValue {
                    let variables = try await client.get(JSONValue.self, "\(prefix)/variables/\(variableSetId)")
                    variableSetVersion = variables.member("Version")?.intValue
                }
                let releases = try await client.all(JSONValue.self, "\(prefix)/projects/\(project.id)/releases")
                snapshots.append(
                    ProjectSnapshot(
                        space: spaceName,
                        name: project.name ?? project.id,
                        id: project.id,
                        lastModifiedOn: document.member("LastModifiedOn")?.stringValue,
                        processVersion: processVersion,
                        variableSetVersion: variableSetVersion,
                        releases: releases.compactMap { $0.member("Version")?.stringValue }
                    )
                )
            }
        }
        return snapshots
    }
}
