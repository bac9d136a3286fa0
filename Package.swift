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
        .target(
            name: "Sandbox",
            dependencies: ["LoopbackVMs", "Wire"],
            swiftSettings: swiftSettings
        ),
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
        .executableTarget(
            name: "octoprov",
            dependencies: [
                "ProvisionCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
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
        // TestHelpers: what only the test targets need: one process runner (LoopbackVMs' posix_spawn children,
        // never Foundation's `Process`, which can hang here; swift-subprocess is not added because the
        // ChildProcess machinery already does this and costs no extra build), the built-product locator (no
        // hard-coded .build/debug), the shared tags, a private ssh-agent and throwaway system users.
        .target(
            name: "TestHelpers",
            dependencies: ["LoopbackVMs", "Wire"],
            swiftSettings: swiftSettings
        ),
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
