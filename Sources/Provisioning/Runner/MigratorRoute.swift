import Foundation
import SSHKit

/// The Migrator route of `import-projects` (test instances before 2021.1, octopus-facts.md §4.6,
/// docs/provision.md "The Migrator route"): the selected projects are exported with `Octopus.Migrator
/// partial-export` on the source host into a fresh private folder, downloaded over SFTP to a private local
/// folder, uploaded to the test host's `export_directory` (replacing what an earlier run left there), and
/// imported there by `<platform>/migrator-import`.
extension HostRun {
    /// Runs the Migrator route for `step` (the test host's `import-projects` with its `migrator-import` script).
    func importWithMigrator(
        _ step: ProvisioningPlan.PlannedStep,
        transport: any HostTransport,
        files: any HostFiles
    ) async throws -> StepOutcomeValue {
        guard let source = plan.source else {
            throw RunnerError(
                "Instance \(plan.instance.name) imports with Octopus.Migrator (Octopus \(plan.instance.version) has no "
                    + "Export/Import Projects), which runs on the source server: set `source.host` to its inventory "
                    + "host."
            )
        }
        guard let password = secrets.values[.exportPassword] else {
            throw RunnerError("Instance \(plan.instance.name) needs `source.export_password` for the partial export.")
        }
        // The inventory allows one space on this route (Octopus.Migrator does not move projects between spaces).
        let selections = try await ProjectImport.select(plan: plan, secrets: secrets)
        let names = selections.flatMap(\.projects).map(\.name)
        let local = try privateTemporaryDirectory("octoprov-export")
        // Cleanup of a private temporary folder: nothing to report if it is already gone.
        defer { try? FileManager.default.removeItem(atPath: local) }
        let downloaded = local + "/export"

        // The source side: the export script, its folder downloaded, then removed there.
        var input = "export_password=\(Data(password.utf8).base64EncodedString())\n"
        for name in names {
            input += "project=\(Data(name.utf8).base64EncodedString())\n"
        }
        let exported = try await connector.withTransport(to: source.host) { sourceTransport in
            try await sourceTransport.withFiles { sourceFiles in
                try await exportOnSource(
                    source,
                    input: Array(input.utf8),
                    transport: sourceTransport,
                    files: sourceFiles,
                    to: downloaded
                )
            }
        }

        // The test host: a fresh export folder holding exactly this export, then the import script.
        let exportDirectory = plan.variables["export_directory"] ?? ""
        guard !exportDirectory.isEmpty, exportDirectory != workDirectory else {
            throw RunnerError("The test host has no export_directory for the partial export.")
        }
        try await Self.removeTree(exportDirectory, platform: plan.instance.platform, transport: transport)
        let uploaded = try await files.uploadTree(
            from: downloaded,
            to: exportDirectory,
            options: TransferOptions(checksum: checksum, permissions: 0o600, skipUnchanged: false)
        )
        var outcome = try await runScript(step, transport: transport, files: files)
        guard outcome.status != .failed else { return outcome }
        outcome.facts["projects"] = names.joined(separator: ", ")
        outcome.facts["source_version"] = selections.first?.version ?? ""
        outcome.facts["source_host"] = source.host.name
        outcome.message =
            "Exported \(names.count) project(s) (\(names.joined(separator: ", "))) with Octopus.Migrator on "
            + "\(source.host.name) (\(exported) and copied \(uploaded.files) file(s)); "
            + outcome.message
        return outcome
    }

    /// Runs `<platform>/migrator-export` on the source host and downloads the folder it reports into `local`;
    /// returns a short description of the export.
    private func exportOnSource(
        _ source: ProvisioningPlan.SourceHostPlan,
        input: [UInt8],
        transport: any HostTransport,
        files: any HostFiles,
        to local: String
    ) async throws -> String {
        let work = source.variables["work_dir"] ?? ""
        guard !work.isEmpty else { throw RunnerError("The source host \(source.host.name) has no work_dir.") }
        try await files.makeDirectories(work, mode: 0o700)
        // One script file per instance, so that test instances exporting from one source do not share it.
        var script = source.script
        script.outputName =
            "\(plan.instance.name)-\(StepCatalogue.migratorExportTemplate)."
            + source.platform.scriptLanguage.fileExtension
        try await files.write([script], into: work, checksum: checksum)
        let remoteScript = source.platform.join(work, script.outputName)
        let command = StepCommand.command(running: remoteScript, on: source.platform, workDirectory: work)
        let label = "\(StepCatalogue.migratorExportTemplate)@\(source.host.name)"
        let printer = StepOutputLines(host: hostName, step: label, redactor: redactor, events: events)
        let result = try await transport.run(command, stdin: input) { stream, chunk in
            printer.feed(stream == .stderr, chunk)
        }
        printer.finish()
        guard result.succeeded else {
            let reason =
                result.stderr.split(whereSeparator: \.isNewline).last.map(String.init)
                ?? "the script ended with \(result.statusDescription)"
            throw RunnerError("The partial export on the source host \(source.host.name) failed: \(reason)")
        }
        guard let parsed = StepScriptResult.parse(output: result.stdout),
            let directory = parsed.facts["export_directory"]
        else {
            throw RunnerError(
                "The partial export on the source host \(source.host.name) exited 0 without its OCTOPROV-RESULT line "
                    + "naming the export folder; see its output above."
            )
        }
        let prefix = source.platform.join(work, "migrator-export.")
        guard directory.hasPrefix(prefix), !directory.contains(".."), !directory.contains("\"") else {
            throw RunnerError(
                "The partial export on \(source.host.name) reported the folder \(directory), which is not a fresh "
                    + "folder under its work_dir; octoprov does not download it."
            )
        }
        do {
            let tree = try await files.downloadTree(
                from: directory,
                to: local,
                options: TransferOptions(checksum: nil, skipUnchanged: false)
            )
            try await Self.removeTree(directory, platform: source.platform, transport: transport)
            return "\(tree.files) file(s), \(tree.totalBytes) bytes"
        } catch {
            // Cleanup on the way out of a failure that is reported below; its own failure would only hide it.
            try? await Self.removeTree(directory, platform: source.platform, transport: transport)
            throw error
        }
    }

    /// Removes a folder and everything in it on a host (nothing when it does not exist).
    static func removeTree(_ path: String, platform: Platform, transport: any HostTransport) async throws {
        let command: String
        switch platform {
        case .windows:
            let literal =
                "'" + path.replacingOccurrences(of: "'", with: "''").replacingOccurrences(of: "\"", with: "")
                + "'"
            command =
                "powershell.exe -NoLogo -NoProfile -NonInteractive -Command \"if (Test-Path -LiteralPath \(literal)) "
                + "{ Remove-Item -LiteralPath \(literal) -Recurse -Force }\""
        case .linuxContainer, .standin:
            command = "rm -rf -- " + posixShellQuoted(path)
        }
        let result = try await transport.run(command, stdin: [], onOutput: nil)
        guard result.succeeded else {
            throw RunnerError(
                "Cannot remove \(path) on the host (\(result.statusDescription)); remove it by hand, then run "
                    + "provision again."
            )
        }
    }

    /// Removes the instance's server folders on the host (`folders_*`: Packages, Artifacts, TaskLogs, EventExports,
    /// Imports), for `rebuild --no-keep-folders`: the next copy starts from nothing.
    ///
    /// - Parameters:
    ///   - plan: The host's plan.
    ///   - transport: An open transport to the host.
    /// - Returns: The folders removed.
    public static func removeServerFolders(
        _ plan: ProvisioningPlan.HostPlan,
        transport: any HostTransport
    ) async throws -> [String] {
        var removed: [String] = []
        for folder in ServerFolder.allCases {
            guard let path = plan.variables[folder.variableName], !path.isEmpty else { continue }
            try await removeTree(path, platform: plan.instance.platform, transport: transport)
            removed.append(path)
        }
        return removed
    }
}
