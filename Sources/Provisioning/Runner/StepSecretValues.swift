import Foundation

/// The secret values one host's steps need, read once before anything on the host changes.
///
/// Values come from the inventory's references (`env:` / `file:`), except `admin_api_key`, which octoprov
/// generates and keeps (``GeneratedSecrets``). They only ever leave octoprov on a step script's standard
/// input, as `NAME=BASE64` lines (docs/steps.md).
public struct StepSecretValues: Sendable {
    /// The values by secret, for the secrets the inventory provides.
    public private(set) var values: [StepSecret: String]

    /// Creates the set from values already read.
    ///
    /// - Parameter values: The values by secret.
    public init(values: [StepSecret: String]) {
        self.values = values
    }

    /// Reads every secret the plan's steps declare and the inventory references, for one host.
    ///
    /// - Parameters:
    ///   - plan: The host's plan.
    ///   - environment: The environment `env:` references are read from.
    ///   - adminAPIKey: The API key octoprov generated for this host's instance, when it has an admin user.
    /// - Returns: The values.
    /// - Throws: ``SecretError`` for the first reference that cannot be read (it names the inventory's file:line).
    public static func read(
        for plan: ProvisioningPlan.HostPlan,
        environment: [String: String],
        adminAPIKey: String?
    ) throws(SecretError) -> StepSecretValues {
        var values: [StepSecret: String] = [:]
        var needed = Set(plan.steps.flatMap(\.definition.secrets))
        // The Migrator route resolves `source.projects` over the source's REST API too (never sent to a host).
        if plan.instance.usesMigrator { needed.insert(.sourceAPIKey) }
        for secret in StepSecret.allCases where needed.contains(secret) {
            if secret == .adminAPIKey {
                if let adminAPIKey, plan.instance.admin != nil { values[secret] = adminAPIKey }
                continue
            }
            if secret == .sqlPassword, (plan.variables["sql_user"] ?? "").isEmpty { continue }
            guard let reference = secret.reference(in: plan.instance, host: plan.host) else { continue }
            let value = try reference.read(environment: environment)
            // `license:` is the licence itself (XML); the admin step takes it base64-encoded (docs/inventory.md).
            values[secret] = secret == .licenseBase64 ? Data(value.utf8).base64EncodedString() : value
        }
        return StepSecretValues(values: values)
    }

    /// The standard input for a step: one `NAME=BASE64` line per secret it declares and this set holds.
    ///
    /// - Parameter step: The step.
    /// - Returns: The bytes, empty when the step needs no secret.
    public func standardInput(for step: StepDefinition) -> [UInt8] {
        var text = ""
        for secret in step.secrets {
            guard let value = values[secret] else { continue }
            text += "\(secret.rawValue)=\(Data(value.utf8).base64EncodedString())\n"
        }
        return Array(text.utf8)
    }

    /// A redactor hiding every value of this set.
    public var redactor: Redactor {
        Redactor(secrets: Array(values.values))
    }
}
