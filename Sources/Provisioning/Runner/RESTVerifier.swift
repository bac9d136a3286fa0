import Foundation
public import Logging
import SSHKit

/// The `verify` step's REST checks: a local port forward over SSH to the instance's web listener as the host sees
/// it, then ``CloneVerification`` with the expectations the earlier steps found (the quarantine step's counts and
/// production's Installation ID and Server URI, read from the restored database before it changed them).
public enum RESTVerifier {
    /// A verifier for ``HostRun``.
    ///
    /// - Parameters:
    ///   - logger: The SSH layer's logger.
    ///   - environment: The environment the host's SSH secrets are read from.
    ///   - readyTimeout: How long to wait for the instance's API to answer.
    /// - Returns: The verifier.
    public static func make(
        logger: Logger,
        environment: [String: String],
        readyTimeout: Duration = .seconds(90)
    ) -> HostRun.Verifier {
        { plan, secrets, facts in
            try await withInstanceClient(plan, secrets, logger: logger, environment: environment) { client in
                _ = try await client.waitUntilReady(timeout: readyTimeout)
                let verification = CloneVerification(
                    client: client,
                    expectations: expectations(plan, facts: facts[StepName.quarantine.rawValue] ?? [:]),
                    checks: plan.instance.verify.filter { $0 != .projects }
                )
                var results = await verification.run()
                if plan.instance.verify.contains(.projects) {
                    results.append(
                        await projectsCheck(client, expected: facts[StepName.importProjects.rawValue]?["projects"])
                    )
                }
                return results
            }
        }
    }

    /// Runs `body` with a client of the host's instance: a local port forward over SSH to `web_listen_prefix` as
    /// the host sees it, and the API key octoprov created in the `admin` step. The forward is closed on every path.
    ///
    /// - Parameters:
    ///   - plan: The host's plan.
    ///   - secrets: Its secrets (`admin_api_key`).
    ///   - logger: The SSH layer's logger.
    ///   - environment: The environment the host's SSH secrets are read from.
    ///   - body: What to do with the client.
    /// - Returns: What `body` returns.
    public static func withInstanceClient<T: Sendable>(
        _ plan: ProvisioningPlan.HostPlan,
        _ secrets: StepSecretValues,
        logger: Logger,
        environment: [String: String],
        _ body: (OctopusClient) async throws -> T
    ) async throws -> T {
        guard let apiKey = secrets.values[.adminAPIKey] else {
            throw RunnerError(
                "Reaching the instance's REST API needs an API key: give instance \(plan.instance.name) an `admin:` "
                    + "user, whose API key octoprov creates in the admin step."
            )
        }
        let prefix = plan.variables["web_listen_prefix"] ?? ""
        guard let url = URL(string: prefix), let host = url.host, !host.isEmpty, url.scheme == "http" else {
            throw RunnerError(
                "octoprov reaches the API over plain HTTP through an SSH forward, but web_listen_prefix is "
                    + "\(prefix); give an http:// prefix the host listens on."
            )
        }
        let remoteHost = host == "+" || host == "*" || host == "0.0.0.0" ? "127.0.0.1" : host
        let forward = try await LocalPortForward.start(
            plan.host.sshConfiguration(logger: logger, environment: environment),
            remoteHost: remoteHost,
            remotePort: url.port ?? 80
        )
        do {
            let path = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
            let client = try OctopusClient(baseURL: "http://127.0.0.1:\(forward.localPort)\(path)", apiKey: apiKey)
            let result = try await body(client)
            await forward.stop()
            return result
        } catch {
            await forward.stop()
            throw error
        }
    }

    /// The test instance's `projects` check: every project the import step selected (its `projects` fact, names
    /// joined by `, `) is on the instance, in any space.
    static func projectsCheck(_ client: OctopusClient, expected: String?) async -> VerifyCheckResult {
        let names = (expected ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !names.isEmpty else {
            return VerifyCheckResult(
                check: .projects,
                passed: false,
                message: "No imported projects are recorded; run the import-projects step (provision) first."
            )
        }
        do {
            var present: Set<String> = []
            for scope in try await client.scopes() {
                for project in try await client.list(.projects, in: scope) {
                    if let name = project.name { present.insert(name.lowercased()) }
                }
            }
            let absent = names.filter { !present.contains($0.lowercased()) }
            return absent.isEmpty
                ? VerifyCheckResult(
                    check: .projects,
                    passed: true,
                    message: "All \(names.count) imported projects are there."
                )
                : VerifyCheckResult(
                    check: .projects,
                    passed: false,
                    message: "Missing on the instance: \(absent.joined(separator: ", "))."
                )
        } catch {
            return VerifyCheckResult(check: .projects, passed: false, message: "Cannot read the projects: \(error)")
        }
    }

    /// What the clone must show, from the quarantine step's facts (none for a test instance).
    static func expectations(
        _ plan: ProvisioningPlan.HostPlan,
        facts: [String: String]
    ) -> CloneVerification.Expectations {
        func count(_ name: String) -> Int? { facts[name].flatMap { Int($0) } }
        var counts: ExpectedCounts?
        if let targets = count("machines"), let triggers = count("triggers"),
            let subscriptions = count("subscriptions"), let projects = count("projects")
        {
            counts = ExpectedCounts(
                targets: targets,
                workers: count("workers") ?? 0,
                triggers: triggers,
                subscriptions: subscriptions,
                projects: projects,
                spaces: count("spaces") ?? 0
            )
        }
        func nonEmpty(_ name: String) -> String? { facts[name].flatMap { $0.isEmpty || $0 == "NULL" ? nil : $0 } }
        if plan.instance.mode == .testInstance {
            // A fresh instance: its Server URI may be unset; it must only never be the source's.
            return CloneVerification.Expectations(
                version: plan.instance.version,
                productionServerURI: plan.instance.source?.url
            )
        }
        return CloneVerification.Expectations(
            version: plan.instance.version,
            counts: counts,
            productionServerURI: nonEmpty("production_server_uri"),
            cloneServerURI: plan.variables["server_uri"],
            productionInstallationId: nonEmpty("production_installation_id"),
            rowsOutsideSpaces: nonEmpty("rows_outside_spaces")
        )
    }
}
