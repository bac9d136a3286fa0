// swift-tools-version:6.2
//
// octoprov: provisions Octopus Deploy test instances and clones over SSH.
//
// Layers (imports flow one way, down):
//   octoprov (one-file @main) → ProvisionCommands (ArgumentParser) → Provisioning → SSHKit → CLibSSH2
//   LoopbackVMs (loopback sshd "VMs", posix_spawn children) is a product: `octoprov sandbox` ships it and the
//   tests drive it. TestHelpers (test-only: process runner, built-product locator, shared tags, ssh-agent,
//   throwaway users) sits on top of it and is linked by the test targets alone, never by `octoprov`.
//   Wire (sockets with deadlines, HTTP/1.1 framing, JSON values) is the leaf under SSHKit, the API client, the
//   stand-in, the sandbox and the tests.
//   octopus-standin (one-file @main, multi-call: `sqlcmd`, later `Octopus.Server`) → OctopusStandIn → CSQLite
//   The stand-in plays Octopus Server and SQL Server on test VMs; octoprov never imports it.
//
// Dependencies are chosen for a 2-core machine whose CI builds from a clean clone every run:
// - swift-argument-parser: the CLI surface (subcommands, validation, help). Small, builds in seconds.
// - swift-crypto: SHA-256 for end-to-end transfer checksums and OpenSSH fingerprints, HMAC-SHA1 for
//   hashed `known_hosts` entries. Costs about a minute on a first build; the alternative (binding
//   OpenSSL's libcrypto by hand) would be more C surface for no gain.
// - Yams: YAML inventories with line/column marks for error messages. Small.
// - swift-log: structured logging owned by the executable; libraries only take a `Logger`.
// - SQLite (system library, Debian's libsqlite3-dev): the stand-in's storage, one file per "SQL Server
//   database". Already on every Debian machine, has JSON functions for JSON_VALUE/JSON_MODIFY, and costs
//   no build time; a Swift SQLite package would add a dependency for a thin wrapper we keep in one file.
// No SwiftNIO: blocking libssh2 calls run on one dedicated thread per SSH session (see
// `SessionThread`), which keeps them off the cooperative pool without a multi-minute NIO build.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "octoprov",
    products: [
        .executable(name: "octoprov", targets: ["octoprov"]),
        .library(name: "SSHKit", targets: ["SSHKit"]),
        .library(name: "LoopbackVMs", targets: ["LoopbackVMs"]),
        .executable(name: "octopus-standin", targets: ["octopus-standin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // CLibSSH2: libssh2 as a system library (module map + shim.h); only SSHKit imports it.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // Wire: the one home of socket and HTTP/1.1 plumbing (connect with a deadline, listeners, poll-based
        // reads and writes, request/response heads, Content-Length and chunked bodies). A leaf: Foundation and
        // Glibc only, so SSHKit, the API client, the stand-in, the sandbox and the tests can all import it
        // without importing each other.
        .target(
            name: "Wire",
            swiftSettings: swiftSettings
        ),
        // SSHKit: SSH sessions, exec, SFTP, known hosts, forwarding over libssh2; no provisioning words.
        .target(
            name: "SSHKit",
            dependencies: [
                "CLibSSH2",
                "Wire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Provisioning: inventories, plans, templates, steps, the runner, journal, reports, the Octopus API client.
        .target(
            name: "Provisioning",
            dependencies: [
                "SSHKit",
                "Wire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The upgrade facts are compiled into the binary as bytes (`PackageResources.upgrade_facts_json`)
            // rather than copied as a bundle resource: no `Bundle.module` lookup at run time, so an octoprov
            // copied anywhere (or onto a jump host) still has its facts, and Foundation's bundle code stays out.
            resources: [.embedInCode("Upgrade/upgrade-facts.json")],
            swiftSettings: swiftSettings
        ),
        // Sandbox: `octoprov sandbox` (loopback VMs, a package mirror, a seeded production) for the README and tests.
        .target(
            name: "Sandbox",
            dependencies: ["LoopbackVMs", "Wire"],
            swiftSettings: swiftSettings
        ),
        // ProvisionCommands: the ArgumentParser commands; the executable target stays one file.
        .target(
            name: "ProvisionCommands",
            dependencies: [
                "Provisioning",
                "SSHKit",
                "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // octoprov: the one-file @main.
        .executableTarget(
            name: "octoprov",
            dependencies: [
                "ProvisionCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // CSQLite: Debian's libsqlite3, the stand-in's storage.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // OctopusStandIn: plays Octopus Server and SQL Server (CLI verbs, sqlcmd, REST API, storage); octoprov never
        // imports it.
        .target(
            name: "OctopusStandIn",
            // Crypto: API keys stored hashed (SHA-256); _CryptoExtras: AES-CBC, how Octopus encrypts
            // sensitive values with the Master Key.
            dependencies: [
                "CSQLite",
                "Wire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // octopus-standin: the stand-in's multi-call @main (`sqlcmd`, `Octopus.Server`).
        .executableTarget(
            name: "octopus-standin",
            dependencies: ["OctopusStandIn"],
            swiftSettings: swiftSettings
        ),
        // LoopbackVMs: "fresh VMs" as real sshd processes on 127.0.0.x, their keys, and the posix_spawn child
        // machinery that starts and reaps them. A product because `octoprov sandbox` ships it; nothing test-only.
        .target(
            name: "LoopbackVMs",
            dependencies: ["Wire"],
            swiftSettings: swiftSettings
        ),
        // TestHelpers: what only the test targets need: one process runner, the built-product locator (no
        // hard-coded .build/debug), the shared tags, a private ssh-agent and throwaway system users. The runner
        // is LoopbackVMs' posix_spawn ChildProcess, never Foundation's `Process` (on Linux it can hang every later
        // wait once a child closes its inherited descriptors). swiftlang/swift-subprocess 1.0.2 is in the mirror
        // and was considered; it is not added because ChildProcess already spawns, reaps and times out children
        // (and the long-lived sshd supervision needs it anyway), so a second process library would only add build
        // time and an async API the tests' synchronous helpers would have to bridge.
        .target(
            name: "TestHelpers",
            dependencies: ["LoopbackVMs", "Wire"],
            swiftSettings: swiftSettings
        ),
        // Test targets: one per library, plus LiveTests (real sshd "VMs" and the built binaries).
        .testTarget(
            name: "SSHKitTests",
            dependencies: ["SSHKit", "LoopbackVMs", "TestHelpers"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProvisioningTests",
            dependencies: ["Provisioning", "SSHKit", "LoopbackVMs", "TestHelpers", "Wire"],
            // Python checkers the template tests run with sqlglot and tree-sitter-powershell.
            exclude: [
                "Support/check_tsql.py", "Support/check_powershell.py", "Support/check_step_tsql.py",
                "Support/check_step_powershell.py", "Support/check_step_bash.py",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoopbackVMsTests",
            dependencies: ["LoopbackVMs", "TestHelpers"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OctopusStandInTests",
            dependencies: ["OctopusStandIn", "LoopbackVMs", "TestHelpers", "Wire"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LiveTests",
            dependencies: [
                "SSHKit", "Provisioning", "LoopbackVMs", "TestHelpers", "Sandbox", "OctopusStandIn", "Wire",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
