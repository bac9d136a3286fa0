import Foundation
import Provisioning
import TestHelpers
import Testing
import Wire

// MARK: - Templates for plan tests

/// Template files that use every variable of docs/steps.md's contract, for every step of the catalogue on
/// every platform, plus every T-SQL file: rendering them proves the variable set is complete everywhere.
enum TestTemplates {
    /// Every host-side template name of the catalogue (the Migrator route's included).
    static var stepNames: [String] {
        Array(
            Set(
                StepCatalogue.all.compactMap(\.template) + [
                    StepCatalogue.migratorImportTemplate, StepCatalogue.migratorExportTemplate,
                ]
            )
        ).sorted()
    }

    /// Every T-SQL template name of the catalogue.
    static var sqlNames: [String] {
        Array(Set(StepCatalogue.all.flatMap(\.sqlTemplates))).sorted()
    }

    /// Variables written with `| raw` (never empty, octoprov-made).
    static let rawNames: Set<String> = Set(["web_port", "comms_port"] + QuarantineSwitch.allCases.map(\.variableName))

    /// A bash script printing every variable.
    static func bash(step: String) -> String {
        var lines = ["#!/usr/bin/env bash", "# step \(step)", "set -euo pipefail"]
        for name in StepVariables.contractNames {
            let placeholder = rawNames.contains(name) ? "{{ \(name) | raw }}" : "{{ \(name) }}"
            lines.append("printf '%s=%s\\n' \(name) \(placeholder)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A PowerShell script printing every variable.
    static func powerShell(step: String) -> String {
        var lines = ["# step \(step)", "$ErrorActionPreference = 'Stop'"]
        for name in StepVariables.contractNames {
            let placeholder = rawNames.contains(name) ? "{{ \(name) | raw }}" : "{{ \(name) }}"
            lines.append("Write-Output ('\(name)=' + \(placeholder))")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A T-SQL file selecting every variable.
    static func tsql(name: String) -> String {
        var lines = ["-- \(name)", "USE {{ database | ident }};"]
        for variable in StepVariables.contractNames {
            let placeholder = rawNames.contains(variable) ? "{{ \(variable) | raw }}" : "{{ \(variable) }}"
            lines.append("SELECT \(placeholder) AS [\(variable)];")
        }
        return lines.joined(separator: "\n") + "\nGO\n"
    }

    /// Every template as fixture files under `folder/`.
    static func files(under folder: String = "templates", leavingOut: Set<String> = []) -> [FixtureFile] {
        var files: [FixtureFile] = []
        for platform in Platform.allCases {
            for step in stepNames {
                let relative = "\(platform)/\(step).\(platform.scriptLanguage.fileExtension)"
                guard !leavingOut.contains(relative) else { continue }
                let text = platform == .windows ? powerShell(step: step) : bash(step: step)
                files.append(FixtureFile(path: "\(folder)/\(relative)", contents: text))
            }
        }
        for name in sqlNames where !leavingOut.contains("sql/\(name).sql") {
            files.append(FixtureFile(path: "\(folder)/sql/\(name).sql", contents: tsql(name: name)))
        }
        return files
    }
}

// MARK: - Running the built binary

/// What a finished `octoprov` process wrote and how it ended.
struct CommandOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `octoprov` built next to these tests (``BuiltProducts``) in `directory`, with exactly
/// `environment` plus `PATH` and `HOME`.
func runOctoprovCommand(
    _ arguments: [String],
    in directory: String,
    environment: [String: String] = [:]
) throws -> CommandOutput {
    let binary = BuiltProducts.location(of: "octoprov")
    try #require(
        FileManager.default.isExecutableFile(atPath: binary),
        "\(binary) is missing; run `swift build` before the CLI tests."
    )
    var base = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory]
    base.merge(environment) { _, new in new }
    let run = try TestProcess.run(binary, arguments, environment: base, currentDirectory: directory)
    return CommandOutput(status: run.status, stdout: run.stdout, stderr: run.stderr)
}

/// Every regular file under `directory`, relative path to contents, for byte-for-byte comparisons.
func fileTree(_ directory: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return result }
    while let relative = enumerator.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
        }
    }
    return result
}
