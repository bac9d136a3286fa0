import Foundation
import LoopbackVMs
import Provisioning
import SSHKit
import Sandbox
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The verify step's REST checks against a real stand-in clone, reached the way octoprov reaches it: a restored
/// production backup served by `Octopus.Server` on a loopback sshd "VM", through a real SSH `LocalPortForward`
/// (no SSH mocks). Before quarantine the verification fails and names every offending item; after the docs' SQL,
/// a new Installation ID and the clone's own Server URI it passes.
@Suite("Clone verification through an SSH port forward", .serialized, .tags(.large))
struct VerifyLiveTests {
    /// Fast behaviour, so that a clone left enabled would contact "production" within the test.
    static let fast =
        "OCTOPUS_STANDIN_TICK_SECONDS=0.2 OCTOPUS_STANDIN_TRIGGER_SECONDS=0.5 OCTOPUS_STANDIN_HEALTH_CHECK_SECONDS=0.5 "
        + "OCTOPUS_STANDIN_CONNECT_TIMEOUT_SECONDS=1"

    /// What `octopus-standin seed` wrote to `seed.json` (the fields the verification is checked against).
    struct Seeded: Decodable {
        var version: String
        var spaces: [String]
        var projects: Int
        var targets: Int
        var workers: Int
        var triggers: Int
        var subscriptions: Int
        var installationId: String
        var serverURI: String
    }

    @Test(arguments: ["2023.3.13026", "2018.10.0"])
    func verificationNamesOffendersBeforeQuarantineAndPassesAfter(version: String) async throws {
        let pin = try OctopusVersion(parsing: version)
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let listeners = try ContactRecorder(
            endpoints: [.init(role: "targets", address: "127.0.0.1"), .init(role: "webhooks", address: "127.0.0.1")],
            contactsPath: fixture.directory + "/contacts.jsonl"
        )
        listeners.start()
        defer { listeners.stop() }
        let port = { (role: String) in listeners.listeners.first { $0.role == role }?.port ?? 0 }

        // Production, on this machine: seeded with targets and webhooks pointing at the listeners above.
        let production = fixture.directory + "/production"
        let seed = try ChildProcess.run(
            try Self.standinBinary(),
            [
                "seed", "--version", version, "--out", production, "--spaces", "2", "--projects", "2", "--targets", "2",
                "--workers", "1", "--triggers", "1", "--subscriptions", "1", "--queued-tasks", "1", "--task-logs", "2",
                "--packages", "1", "--package-size", "1000", "--target-endpoint",
                "https://127.0.0.1:\(port("targets"))/",
                "--webhook-url", "http://127.0.0.1:\(port("webhooks"))/octopus-events", "--server-uri",
                "https://octopus.production.example",
            ],
            environment: ["OCTOPUS_STANDIN_DATA": production + "/sql", "PATH": "/usr/bin:/bin"],
            timeout: 120
        )
        try #require(seed.exitStatus == 0, "\(seed.output)")
        let seeded = try JSONDecoder().decode(
            Seeded.self,
            from: try Data(contentsOf: URL(fileURLWithPath: production + "/seed.json"))
        )
        try #require(
            seeded.targets > 1 && seeded.workers > 0 && seeded.triggers > 0 && seeded.subscriptions > 0,
            "the seed must give every check something to find"
        )
        let masterKey = try String(contentsOfFile: production + "/master-key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let apiKey = try String(contentsOfFile: production + "/api-key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        // The clone, on the VM: install, restore as a new database, instance with production's Master Key.
        let webPort = try Self.freePort()
        let host = CloneHost(root: vm.rootDirectory, version: version, webPort: webPort)
        let ssh = try await SSHSession.connect(fixture.configuration(for: vm))
        let forward = try await LocalPortForward.start(fixture.configuration(for: vm), remotePort: webPort)
        do {
            try await host.run(ssh, host.install(binary: try Self.standinBinary()), "install")
            try await host.run(ssh, host.restore(backup: production + "/OctopusDeploy.bak"), "restore")
            try await host.run(ssh, host.createInstance(), "create-instance", stdin: masterKey + "\n")

            var options = OctopusClient.Options()
            options.retryDeadline = .seconds(120)
            options.initialBackoff = .milliseconds(100)
            let client = try OctopusClient(
                baseURL: "http://127.0.0.1:\(forward.localPort)",
                apiKey: apiKey,
                options: options
            )
            let expectations = CloneVerification.Expectations(
                version: pin,
                counts: ExpectedCounts(
                    targets: seeded.targets,
                    workers: seeded.workers,
                    triggers: seeded.triggers,
                    subscriptions: seeded.subscriptions,
                    projects: seeded.projects,
                    spaces: pin.hasSpaces ? seeded.spaces.count : 0
                ),
                productionServerURI: seeded.serverURI,
                productionInstallationId: seeded.installationId
            )
            let verification = CloneVerification(client: client, expectations: expectations)

            // 0. Nothing listens behind the forward yet: sshd accepts, then closes, and the client says so.
            var once = options
            once.retryDeadline = .milliseconds(300)
            let early = try OctopusClient(baseURL: client.baseURL, apiKey: apiKey, options: once)
            let refused = await #expect(throws: OctopusAPIError.self) { try await early.health() }
            #expect(refused?.code == .unreachable)
            #expect(
                refused?.message.hasPrefix(
                    "GET /api/serverstatus/health on 127.0.0.1:\(forward.localPort) found nothing answering "
                        + "(closed before any reply) on "
                ) == true,
                "\(refused?.message ?? "")"
            )
            #expect(refused?.message.contains(apiKey) == false)

            // 1. Started as restored: a request made before the start is retried until the server answers; every
            // check about production's data fails and names each offender.
            let waiting = Task { try await client.root() }
            try await Task.sleep(for: .milliseconds(300))
            try await host.run(ssh, host.start(), "start")
            #expect(try await waiting.value.version == version)
            let ready = try await client.waitUntilReady(timeout: .seconds(120), interval: .milliseconds(200))
            #expect(ready.nodeName == "clone1")
            let before = Dictionary(uniqueKeysWithValues: await verification.run().map { ($0.name, $0) })
            #expect(before["version"]?.passed == true, "\(before["version"]?.message ?? "")")
            #expect(before["health"]?.passed == true, "\(before["health"]?.message ?? "")")
            #expect(before["counts"]?.passed == true, "\(before["counts"]?.message ?? "")")
            let scopes: [OctopusScope] = pin.hasSpaces ? seeded.spaces.map { .space($0) } : [.unscoped]
            #expect(try await client.scopes() == scopes)
            for (name, collection, count) in [
                ("targets_disabled", OctopusCollection.machines, seeded.targets),
                ("workers_disabled", .workers, seeded.workers),
                ("triggers_disabled", .projectTriggers, seeded.triggers),
                ("subscriptions_disabled", .subscriptions, seeded.subscriptions),
            ] {
                let result = try #require(before[name])
                #expect(!result.passed)
                #expect(result.message.hasPrefix("\(count) "), "\(result.message)")
                var items: [OctopusResource] = []
                for scope in scopes { items += try await client.list(collection, in: scope) }
                #expect(items.count == count)
                for item in items {
                    #expect(
                        result.message.contains(item.label),
                        "\(name) does not name \(item.label): \(result.message)"
                    )
                    if pin.hasSpaces {
                        #expect(item.label.hasPrefix("\(item.spaceId ?? "?")/\(item.name ?? "?") (\(item.id))"))
                    }
                }
            }
            #expect(before["server_uri"]?.passed == false)
            #expect(before["server_uri"]?.message.contains(seeded.serverURI) == true)
            #expect(before["installation_id"]?.passed == false)
            #expect(before["installation_id"]?.message.contains(seeded.installationId) == true)
            try await host.run(ssh, host.stop(), "stop")

            // 2. The docs' SQL, a new Installation ID and the clone's own Server URI, on the clone's database.
            try await host.run(ssh, try host.quarantine(serverURI: "http://clone1.test:\(webPort)"), "quarantine")

            // 3. Started again: every check passes, and nothing reaches production while it runs.
            let contactsBefore = Self.contacts(fixture)
            try await host.run(ssh, host.start(), "start")
            _ = try await client.waitUntilReady(timeout: .seconds(120), interval: .milliseconds(200))
            let after = await verification.run()
            try await Task.sleep(for: .seconds(2))
            try await host.run(ssh, host.stop(), "stop")
            for result in after {
                #expect(result.passed, "\(result)")
            }
            #expect(after.map(\.check) == VerifyCheck.defaults(for: .clone, quarantine: Quarantine()))
            let targets = after.first { $0.check == .targetsDisabled }?.message
            #expect(
                targets
                    == "All \(seeded.targets) targets\(pin.hasSpaces ? " in \(seeded.spaces.count) spaces" : "") are disabled."
            )
            #expect(Self.contacts(fixture) == contactsBefore)
            #expect(!after.contains { $0.message.contains(apiKey) || $0.message.contains(masterKey) })
        } catch {
            _ = try? await host.run(ssh, host.stop(), "stop")
            await forward.stop()
            await ssh.close()
            throw error
        }
        await forward.stop()
        await ssh.close()
    }

    /// The contacts the "production" listeners recorded so far, one JSON line each.
    static func contacts(_ fixture: LiveFixture) -> [Substring] {
        let text = (try? String(contentsOfFile: fixture.directory + "/contacts.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
    }

    /// The `octopus-standin` built next to these tests.
    static func standinBinary() throws -> String {
        let binary = BuiltProducts.location(of: "octopus-standin")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "Build it first: swift build")
        return binary
    }

    /// A TCP port free on 127.0.0.1 right now.
    static func freePort() throws -> Int {
        try POSIXSocket.freePort(on: POSIXSocket.loopback)
    }
}

/// The clone's side, as bash run over SSH on the VM: the stand-in installed under the VM's root, its SQL Server
/// `localhost`, and one instance `Clone` on database `OctopusClone`.
struct CloneHost {
    let root: String
    let version: String
    let webPort: Int

    var install: String { "\(root)/opt/octopus-standin" }
    var data: String { "\(root)/var/lib/octopus-standin" }
    var work: String { "\(root)/var/tmp/octoprov" }
    var environment: String { "export OCTOPUS_STANDIN_DATA='\(data)' PATH='\(install)/bin':/usr/bin:/bin" }

    /// The "package": `VERSION` and the stand-in's three names.
    func install(binary: String) -> String {
        """
        set -eu
        mkdir -p '\(install)/bin' '\(data)/localhost' '\(work)' '\(root)/home'
        echo '\(version)' > '\(install)/VERSION'
        for name in octopus-standin Octopus.Server sqlcmd; do ln -sfn '\(binary)' "\(install)/bin/$name"; done
        """
    }

    func restore(backup: String) -> String {
        """
        set -eu
        \(environment)
        sqlcmd -S localhost -b -Q "RESTORE DATABASE [OctopusClone] FROM DISK = N'\(backup)' WITH \
        MOVE N'OctopusDeploy' TO N'\(data)/localhost/OctopusClone.mdf', \
        MOVE N'OctopusDeploy_log' TO N'\(data)/localhost/OctopusClone_log.ldf', REPLACE"
        """
    }

    /// `create-instance`, `database` with the Master Key read from stdin, `configure` (pre-4.0 order otherwise).
    func createInstance() -> String {
        let config = "\(root)/home/Clone.config.json"
        let connection = "Server=localhost;Database=OctopusClone;Trusted_Connection=True;"
        return """
            set -eu
            \(environment)
            IFS= read -r master_key
            Octopus.Server create-instance --instance Clone --config '\(config)' --home '\(root)/home' --serverNodeName clone1
            Octopus.Server database --instance Clone --connectionString '\(connection)' --masterKey "$master_key"
            Octopus.Server configure --instance Clone --webListenPrefixes 'http://localhost:\(webPort)'
            """
    }

    func start() -> String {
        """
        set -eu
        \(environment)
        export \(VerifyLiveTests.fast)
        Octopus.Server service --instance Clone --install --reconfigure --start
        """
    }

    func stop() -> String {
        "\(environment); Octopus.Server service --instance Clone --stop"
    }

    /// The docs' disable SQL and new Installation ID (octopus-facts.md §3.3, the fixtures the stand-in's own
    /// tests run), then the Server URI pointed at the clone, as the quarantine step does.
    func quarantine(serverURI: String) throws -> String {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OctopusStandInTests/Fixtures")
        let disable = try String(contentsOf: fixtures.appendingPathComponent("disable-everything.sql"), encoding: .utf8)
            .replacingOccurrences(of: "Use [OctopusDeploy]", with: "Use [OctopusClone]")
        let newId = try String(contentsOf: fixtures.appendingPathComponent("new-installation-id.sql"), encoding: .utf8)
            .replacingOccurrences(of: "DECLARE @dryRun BIT = 1", with: "DECLARE @dryRun BIT = 0")
        let uri =
            "UPDATE dbo.Configuration SET [JSON] = JSON_MODIFY([JSON], N'$.ServerUri', N'\(serverURI)') "
            + "WHERE Id = N'serverconfiguration'\n"
        return """
            set -eu
            \(environment)
            cat > '\(work)/disable.sql' <<'SQL'
            \(disable)
            SQL
            cat > '\(work)/new-id.sql' <<'SQL'
            \(newId)
            SQL
            cat > '\(work)/server-uri.sql' <<'SQL'
            \(uri)
            SQL
            sqlcmd -S localhost -d OctopusClone -b -i '\(work)/disable.sql' -i '\(work)/new-id.sql' \
            -i '\(work)/server-uri.sql'
            """
    }

    /// Runs `script` with `bash -c` on the VM and requires it to succeed; `stdin` (a secret) goes to its input,
    /// never into the command line.
    func run(_ ssh: SSHSession, _ script: String, _ step: String, stdin: String? = nil) async throws {
        let quoted = "'" + script.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        let result = try await ssh.run(
            "bash -c \(quoted)",
            options: ExecOptions(stdin: stdin.map { Array($0.utf8) }, timeout: .seconds(120))
        )
        try #require(result.succeeded, "\(step): \(result.statusDescription): \(result.stdoutText)\(result.stderrText)")
    }
}
