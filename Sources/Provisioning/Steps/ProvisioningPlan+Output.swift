import Foundation

extension ProvisioningPlan {
    /// The plan as the lines `octoprov plan` prints: per instance and host, each step with where it runs, what
    /// it will do, its template and SQL files, its details and the secrets it needs by reference.
    public var lines: [String] {
        let instances = Set(hosts.map(\.instance.name)).count
        var lines = [
            "Plan for \(file): \(instances) instance\(instances == 1 ? "" : "s"), \(hosts.count) host "
                + "plan\(hosts.count == 1 ? "" : "s"); nothing is touched."
        ]
        for plan in hosts {
            let spec = plan.instance
            lines.append("")
            lines.append(
                "\(spec.name) on \(plan.host.name) (\(spec.platform)): \(spec.mode) of Octopus \(spec.version)"
            )
            for step in plan.steps {
                let number = String(format: "%02d", step.position)
                lines.append("  \(number) \(step.definition.name) [\(step.definition.runsOn)]")
                lines.append("     \(step.definition.summary)")
                var files: [String] = []
                if let script = step.script { files.append(script.template) }
                files += step.definition.sqlTemplates.map(StepDefinition.sqlPath)
                if !files.isEmpty {
                    lines.append("     templates: " + files.joined(separator: ", "))
                }
                lines += step.details.map { "     \($0)" }
                if step.definition.stepName == .importProjects, let source = plan.source {
                    lines.append(
                        "     source host \(source.host.name): \(source.script.template) (instance "
                            + "\(source.variables["instance_name"] ?? ""), work folder \(source.variables["work_dir"] ?? ""))"
                    )
                }
                if !step.secrets.isEmpty {
                    lines.append("     secrets: " + step.secrets.joined(separator: ", "))
                }
            }
        }
        return lines
    }

    /// The folder one host's files go to under an output folder: `<instance>/<host>`.
    ///
    /// - Parameter plan: A host's plan.
    /// - Returns: The relative folder.
    public static func outputFolder(of plan: HostPlan) -> String {
        "\(plan.instance.name)/\(plan.host.name)"
    }

    /// Writes every rendered script to `DIR/<instance>/<host>/<NN>-<step>.<ext>` and, beside them, every T-SQL file
    /// under the name the scripts read it by from `work_dir` (`DIR/<instance>/<host>/<name>.sql`), so that a host's
    /// folder holds what its `work_dir` receives.
    ///
    /// Files a previous plan wrote there (names of those shapes) are removed first, so the folder holds exactly
    /// this plan; nothing else in `directory` is touched.
    ///
    /// - Parameter directory: The output folder; created when missing.
    /// - Returns: The paths written, relative to `directory`, in order.
    /// - Throws: ``PlanOutputError`` naming the path that could not be written.
    @discardableResult
    public func write(to directory: String) throws(PlanOutputError) -> [String] {
        var written: [String] = []
        for plan in hosts {
            let folder = Self.outputFolder(of: plan)
            let hostDirectory = directory + "/" + folder
            try Self.makeDirectory(hostDirectory)
            try Self.removeStaleFiles(in: hostDirectory)
            let files = plan.steps.compactMap(\.script) + (plan.source.map { [$0.script] } ?? []) + plan.sqlFiles
            for file in files {
                let relative = folder + "/" + file.outputName
                let path = directory + "/" + relative
                do {
                    try Data(file.contents.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw PlanOutputError(path: path, reason: "\(error)")
                }
                written.append(relative)
            }
        }
        return written
    }

    private static func makeDirectory(_ path: String) throws(PlanOutputError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw PlanOutputError(path: path, reason: "\(error)")
        }
    }

    /// Removes `NN-name.sh|ps1` and `*.sql` files from a host's output folder.
    private static func removeStaleFiles(in hostDirectory: String) throws(PlanOutputError) {
        let fileManager = FileManager.default
        // A folder that is not there yet holds nothing stale; one that cannot be written fails the writes after this.
        let names = (try? fileManager.contentsOfDirectory(atPath: hostDirectory)) ?? []
        let stale = names.filter { isScriptName($0) || $0.hasSuffix(".sql") }.sorted().map { hostDirectory + "/" + $0 }
        for path in stale {
            // Only files: a folder of that name is not something a plan wrote.
            // A name gone since the listing needs no removing.
            let type = (try? fileManager.attributesOfItem(atPath: path)[.type]) as? FileAttributeType
            guard type == .typeRegular || type == .typeSymbolicLink else { continue }
            do {
                try fileManager.removeItem(atPath: path)
            } catch {
                throw PlanOutputError(path: path, reason: "\(error)")
            }
        }
    }

    /// Whether `name` looks like a script `plan` writes: two digits, `-`, a name, `.sh` or `.ps1`.
    static func isScriptName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard scalars.count > 4, ("0"..."9").contains(scalars[0]), ("0"..."9").contains(scalars[1]),
            scalars[2] == "-"
        else { return false }
        return name.hasSuffix(".sh") || name.hasSuffix(".ps1")
    }
}

/// A plan output file or folder that could not be written.
public struct PlanOutputError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path.
    public var path: String
    /// The system's reason.
    public var reason: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - path: The path.
    ///   - reason: The system's reason.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// One sentence naming the path.
    public var description: String { "\(path): cannot write the plan's files (\(reason))." }
}
