import Foundation
public import Logging
import SSHKit

/// The `verify` step's REST checks: a local port forward over SSH to the instance's web listener as the host sees
/// it, then ``CloneVerification`` with the expectations the earlier steps found (the quarantine step's counts and
/// production's Installation ID and Server URI, read from the restored database before it changed them).
public enum RESTVerifier {
    /// A verifier for ``HostProvisioner``.
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
    ) -> HostProvisioner.Verifier {
        { plan, secrets, facts in
            guard let apiKey = secrets.values[.adminAPIKey] else {
                throw RunnerError(
                    "The REST checks need an API key: give instance \(plan.instance.name) an `admin:` user, whose "
                        + "API key octoprov creates in the admin step."
                )
            }
            let prefix = plan.variables["web_listen_prefix"] ?? ""
            guard let url = URL(string: prefix), let host = url.host, !host.isEmpty, url.scheme == "http" else {
                throw RunnerError(
                    "The REST checks reach the API over plain HTTP through an SSH forward, but web_listen_prefix is "
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
                _ = try await client.waitUntilReady(timeout: readyTimeout)
                let verification = CloneVerification(
                    client: client,
                    spec: plan.instance,
                    expectations: expectations(plan, facts: facts["quarantine"] ?? [:])
                )
                let results = await verification.run()
                await forward.stop()
                return results
            } catch {
                await forward.stop()
                throw error
            }
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
        return CloneVerification.Expectations(
            version: plan.instance.version,
            counts: counts,
            productionServerURI: nonEmpty("production_server_uri"),
            cloneServerURI: plan.variables["server_uri"],
            productionInstallationId: nonEmpty("production_installation_id")
        )
    }
}
