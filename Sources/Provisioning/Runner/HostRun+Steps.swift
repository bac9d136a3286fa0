import Foundation
import SSHKit

/// The runner's side of the steps' behaviours (``StepBehaviour``, set in ``StepCatalogue``): refusals before a
/// script, work other than a script, and checks after one.
extension HostRun {
    /// `preflight` and `upgrade-preflight`: a local package whose SHA-256 is not the inventory's is refused before
    /// anything runs.
    func refuseMismatchedPackage() -> StepOutcomeValue? {
        guard let package = plan.instance.package, let local = package.localFile,
            let actual = localPackageSHA256, actual != package.sha256
        else { return nil }
        return StepOutcomeValue(
            status: .failed,
            message: "The package \(local) has SHA-256 \(actual), not the inventory's \(package.sha256); "
                + "fetch the right package or correct `package.sha256`.",
            facts: [:],
            checks: []
        )
    }

    /// `start`: a clone's service never starts unless its quarantine succeeded (in the provisioning journal, also
    /// for another flow).
    func refuseStartWithoutQuarantine() -> StepOutcomeValue? {
        guard plan.instance.mode == .clone, !(provisionJournal ?? journal).succeeded(host: hostName, step: .quarantine)
        else { return nil }
        return StepOutcomeValue(
            status: .failed,
            message: "The quarantine step has not succeeded for this restore, so the service is not started; "
                + "run provision without --from-step so that restore and quarantine run first.",
            facts: [:],
            checks: []
        )
    }

    /// `install`: uploads a local package first (resumable, verified, skipped when already there), then runs the
    /// script, whose message says when the package was sent.
    func install(_ run: StepBehaviour.Run) async throws -> StepOutcomeValue {
        var packageChanged = false
        if let local = plan.instance.package?.localFile {
            let remote = plan.variables["package_file"] ?? ""
            // 0600 like everything in the work folder, though a package holds no secret: one rule, checked whole.
            var options = transferOptions(step: run.name, label: "package", totalBytes: DiskSpaceCheck.fileSize(local))
            options.permissions = 0o600
            let result = try await run.files.upload(from: local, to: remote, options: options)
            packageChanged = !result.skipped
        }
        var outcome = try await run.script()
        if run.step.script != nil, packageChanged, outcome.status == .ok {
            outcome.message += " (the package was uploaded)"
        }
        return outcome
    }

    /// `preflight` after its script: room on the host's disks for the backup, the package and the server folders;
    /// then a test instance's source: reachable with its key, at the pinned version, every pattern selecting a
    /// project, before anything is installed.
    func checkPreflight(_ run: StepBehaviour.Run, _ outcome: StepOutcomeValue) async throws -> StepOutcomeValue {
        var outcome = outcome
        if let problem = DiskSpaceCheck.problem(plan: plan, facts: outcome.facts) {
            outcome.status = .failed
            outcome.message = problem
            return outcome
        }
        if plan.instance.mode == .testInstance, plan.instance.source?.url != nil {
            let selections = try await ProjectImport.select(plan: plan, secrets: secrets)
            let count = selections.reduce(0) { $0 + $1.projects.count }
            outcome.facts["source_projects"] = ProjectImport.names(selections)
            outcome.message += " The source has the \(count) selected project(s)."
        }
        return outcome
    }

    /// `import-projects`: the Migrator route when the step has its `migrator-import` script, else Export/Import
    /// Projects over the REST APIs.
    func importProjects(_ run: StepBehaviour.Run) async throws -> StepOutcomeValue {
        if run.step.script != nil {
            return try await importWithMigrator(run.step, transport: run.transport, files: run.files)
        }
        guard let projectImporter else { throw RunnerError("No project importer is configured.") }
        let result = try await projectImporter(plan, secrets)
        return StepOutcomeValue(
            status: result.changed ? .changed : .ok,
            message: result.message,
            facts: result.facts,
            checks: []
        )
    }

    /// `verify` after its host script: the REST checks, with the facts the earlier steps found.
    func verifyOverREST(_ run: StepBehaviour.Run, _ outcome: StepOutcomeValue) async throws -> StepOutcomeValue {
        var outcome = outcome
        guard let verifier else {
            outcome.message += " The REST checks were not run: no verifier is configured."
            return outcome
        }
        let checks = try await verifier(plan, secrets, run.facts)
        outcome.checks = checks
        let failed = checks.filter { !$0.passed }
        if failed.isEmpty {
            outcome.message =
                [outcome.message, "All \(checks.count) REST checks passed."].filter { !$0.isEmpty }.joined(
                    separator: " "
                )
        } else {
            outcome.status = .failed
            outcome.message =
                "\(failed.count) of \(checks.count) checks failed: "
                + failed.map { "\($0.name): \($0.message)" }.joined(separator: "; ")
        }
        return outcome
    }
}
