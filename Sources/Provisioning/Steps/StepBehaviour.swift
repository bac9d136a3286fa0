import Foundation

/// What octoprov itself does about a step, beyond rendering its templates: the lines `plan` prints about it, the
/// inputs of its journal hash besides its scripts and secrets, and what the runner does before, instead of and
/// after its script. Each ``StepCatalogue`` entry carries its own; ``HostRun`` runs every step through it.
struct StepBehaviour: Sendable {
    /// What a step does on one host, for the hooks: the host's provisioner, the planned step, the transport and
    /// what the earlier steps found, by step.
    struct Run: Sendable {
        var provisioner: HostRun
        var step: ProvisioningPlan.PlannedStep
        var transport: any HostTransport
        var files: any HostFiles
        var facts: [String: [String: String]]

        /// The step's name as the journal and the events write it.
        var name: String { step.definition.name }
        /// The host's plan.
        var plan: ProvisioningPlan.HostPlan { provisioner.plan }

        /// The step's script run on the host, or nothing done (`ok`) for a step without one.
        func script() async throws -> HostRun.StepOutcomeValue {
            guard step.script != nil else {
                return HostRun.StepOutcomeValue(status: .ok, message: "", facts: [:], checks: [])
            }
            return try await provisioner.runScript(step, transport: transport, files: files)
        }
    }

    /// What `plan` knows when it describes a step on a host.
    struct PlanContext {
        var spec: InstanceSpec
        var variables: [String: String]
        var display: PathDisplay

        /// The host's variable `name`, or empty.
        func value(_ name: String) -> String { variables[name] ?? "" }

        /// `, SQL login NAME` on `linux-container` when `sql_user` is set (the connection string then uses it
        /// instead of integrated security), else empty.
        var sqlLogin: String {
            spec.platform == .linuxContainer && !value("sql_user").isEmpty ? ", SQL login \(value("sql_user"))" : ""
        }
    }

    /// The step resolved for an instance, after the catalogue's common rules for secrets (``StepCatalogue``'s
    /// `resolved`): what this step needs only on some platforms, modes or versions.
    var resolve: @Sendable (inout StepDefinition, InstanceSpec) -> Void = { _, _ in }
    /// Lines about the step on a host, for `plan`.
    var details: @Sendable (PlanContext) -> [String] = { _ in [] }
    /// The journal hash's inputs besides the script, its T-SQL files and its secrets (a package's or backup's
    /// SHA-256, a folder's manifest), so that a new one reruns the step.
    var inputs: @Sendable (ProvisioningPlan.PlannedStep, ProvisioningPlan.HostPlan) -> [String: String] = { _, _ in
        [:]
    }
    /// Before anything runs: an outcome that ends the step there (a refusal), or `nil` to go on.
    var before: @Sendable (Run) async throws -> HostRun.StepOutcomeValue? = { _ in nil }
    /// The step's work: by default its script.
    var work: @Sendable (Run) async throws -> HostRun.StepOutcomeValue = { try await $0.script() }
    /// After work that did not fail: the outcome, checked further.
    var after: @Sendable (Run, HostRun.StepOutcomeValue) async throws -> HostRun.StepOutcomeValue = {
        $1
    }
    /// Runs on every run, whatever the journal and the host say (`verify`, `report`), and leaves no mark on the
    /// host.
    var alwaysRuns = false
}
