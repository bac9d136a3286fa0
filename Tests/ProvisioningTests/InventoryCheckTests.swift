import Foundation
import Provisioning
import Testing

// MARK: - Fixtures

/// The files and environment every checked inventory of these tests can refer to.
enum CheckFixture {
    /// SHA-256 of `pkg`, the contents of every placeholder package.
    static let packageSHA256 = "e0ce1a7f3f76d7bfda0ffdae6e0226aa63b3009c4c4a770c321876aecad0a6c1"

    static let files: [FixtureFile] = [
        FixtureFile(path: "backup.bak", contents: "bak"),
        FixtureFile(path: "pkg.msi", contents: "pkg"),
        FixtureFile(path: "mirror/octopus-standin-2023.3.13026.tar.gz", contents: "pkg"),
        FixtureFile(path: "mirror/octopus-standin-2020.1.10.tar.gz", contents: "pkg"),
        FixtureFile(path: "mirror/Octopus.2023.3.13026-x64.msi", contents: "pkg"),
        FixtureFile(path: "production/Packages/.keep", contents: ""),
        FixtureFile(path: "production/TaskLogs/.keep", contents: ""),
        FixtureFile(path: "secrets/license.xml", contents: "<license-text-value/>\n", mode: 0o600),
    ]

    static let environment = [
        "MASTER_KEY": "m4ster-key-value-42",
        "API_KEY": "API-SOURCEKEY0123456789",
        "EXPORT_PW": "exp0rt-password-value",
        "ADMIN_PW": "adm1n-password-value",
    ]

    /// A valid clone of a `standin` host; lines are numbered as in the file.
    static let clone = [
        "hosts:",  // 1
        "  vm1:",  // 2
        "    address: 127.0.0.1",  // 3
        "    user: root",  // 4
        "    platform: standin",  // 5
        "instances:",  // 6
        "  lab:",  // 7
        "    mode: clone",  // 8
        "    hosts: [vm1]",  // 9
        "    version: 2023.3.13026",  // 10
        "    package: {sha256: \(packageSHA256), mirror: mirror}",  // 11
        "    backup: backup.bak",  // 12
        "    master_key: env:MASTER_KEY",  // 13
    ]

    /// A valid test instance of a `standin` host; lines are numbered as in the file.
    static let testInstance = [
        "hosts:",  // 1
        "  vm1:",  // 2
        "    address: 127.0.0.1",  // 3
        "    user: root",  // 4
        "    platform: standin",  // 5
        "instances:",  // 6
        "  lab:",  // 7
        "    mode: test-instance",  // 8
        "    hosts: [vm1]",  // 9
        "    version: 2023.3.13026",  // 10
        "    package: {sha256: \(packageSHA256), mirror: mirror}",  // 11
        "    source:",  // 12
        "      url: https://octopus.example.com",  // 13
        "      api_key: env:API_KEY",  // 14
        "      projects: [Web]",  // 15
        "      export_password: env:EXPORT_PW",  // 16
    ]

    /// `lines` with line `number` (from 1) replaced by `text` (which may hold several lines) and `extra` lines
    /// appended.
    static func yaml(
        _ lines: [String],
        replacing replacements: [Int: String] = [:],
        adding extra: [String] = []
    )
        -> String
    {
        var result = lines
        for (number, text) in replacements { result[number - 1] = text }
        return (result + extra).joined(separator: "\n") + "\n"
    }

    /// Checks `yaml` written as `inventory.yml` beside the fixture files.
    static func check(
        _ yaml: String,
        files extra: [FixtureFile] = [],
        environment: [String: String] = CheckFixture.environment,
        variables: [String] = []
    ) throws -> InventoryCheck {
        try withTemporaryDirectory(files + extra + [FixtureFile(path: "inventory.yml", contents: yaml)]) {
            directory in
            var environment = environment
            environment["HOME"] = directory + "/home"
            return InventoryCheck.run(
                path: directory + "/inventory.yml",
                environment: environment,
                variables: variables
            )
        }
    }
}

// MARK: - Broken inventories

/// A problem a broken inventory must report.
struct ExpectedCheckProblem: Sendable {
    var code: InventoryError.Code
    /// The line, or 0 for the command line.
    var line: Int
    var column: Int?
    var keyPath: String
    /// Text the message must contain besides the key path.
    var mentions: [String] = []
}

/// A broken inventory and every problem `inventory check` must report for it, in order.
struct BrokenCheck: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var files: [FixtureFile] = []
    var environment: [String: String] = CheckFixture.environment
    var variables: [String] = []
    var problems: [ExpectedCheckProblem]
    var mustNotMention: [String] = []

    var testDescription: String { name }

    static let clone = CheckFixture.clone
    static let test = CheckFixture.testInstance
    static let host = Array(CheckFixture.clone.prefix(5))
    static func yaml(_ lines: [String], _ replacements: [Int: String] = [:], _ extra: [String] = []) -> String {
        CheckFixture.yaml(lines, replacing: replacements, adding: extra)
    }

    static let all: [BrokenCheck] = [
        BrokenCheck(
            name: "unknown platform",
            yaml: yaml(host, [5: "    platform: linux-containr"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 5,
                    column: 15,
                    keyPath: "hosts.vm1.platform",
                    mentions: ["did you mean `linux-container`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "platform of the wrong type",
            yaml: yaml(host, [5: "    platform: [windows]"]),
            problems: [ExpectedCheckProblem(code: .wrongType, line: 5, column: 15, keyPath: "hosts.vm1.platform")]
        ),
        BrokenCheck(
            name: "instnaces typo",
            yaml: yaml(clone, [6: "instnaces:"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownKey,
                    line: 6,
                    column: 1,
                    keyPath: "instnaces",
                    mentions: ["did you mean `instances`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "top-level vars",
            yaml: yaml(host, [:], ["vars: {sql_server: db1}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownKey,
                    line: 6,
                    column: 1,
                    keyPath: "vars",
                    mentions: ["defaults.vars"]
                )
            ]
        ),
        BrokenCheck(
            name: "group cycle",
            yaml: yaml(
                host,
                [:],
                ["groups:", "  a:", "    members: [vm1, b]", "  b:", "    members: [c]", "  c:", "    members: [a]"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .groupCycle,
                    line: 12,
                    column: 15,
                    keyPath: "groups.c.members[0]",
                    mentions: ["`a` → `b` → `c` → `a`"]
                )
            ]
        ),
        BrokenCheck(
            name: "group that lists itself",
            yaml: yaml(host, [:], ["groups:", "  a:", "    members: [vm1, a]"]),
            problems: [
                ExpectedCheckProblem(
                    code: .groupCycle,
                    line: 8,
                    column: 20,
                    keyPath: "groups.a.members[1]",
                    mentions: ["group `a` itself"]
                )
            ]
        ),
        BrokenCheck(
            name: "unknown group member",
            yaml: yaml(host, [:], ["groups:", "  web:", "    members: [vm1, vm2]"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownName,
                    line: 8,
                    column: 20,
                    keyPath: "groups.web.members[1]",
                    mentions: ["`vm2`", "did you mean `vm1`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "group with a host's name",
            yaml: yaml(host, [:], ["groups:", "  vm1:", "    members: []"]),
            problems: [ExpectedCheckProblem(code: .duplicateKey, line: 7, column: 3, keyPath: "groups.vm1")]
        ),
        BrokenCheck(
            name: "group members not a list",
            yaml: yaml(host, [:], ["groups:", "  web:", "    members: vm1"]),
            problems: [ExpectedCheckProblem(code: .wrongType, line: 8, column: 14, keyPath: "groups.web.members")]
        ),
        BrokenCheck(
            name: "verison typo",
            yaml: yaml(clone, [10: "    verison: 2023.3.13026"]),
            problems: [
                ExpectedCheckProblem(code: .missingKey, line: 7, column: 3, keyPath: "instances.lab.version"),
                ExpectedCheckProblem(
                    code: .unknownKey,
                    line: 10,
                    column: 5,
                    keyPath: "instances.lab.verison",
                    mentions: ["did you mean `version`?"]
                ),
            ]
        ),
        BrokenCheck(
            name: "malformed version",
            yaml: yaml(clone, [10: "    version: 2023.3"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 10,
                    column: 14,
                    keyPath: "instances.lab.version",
                    mentions: ["three"]
                )
            ]
        ),
        BrokenCheck(
            name: "pre-3.0 version",
            yaml: yaml(clone, [10: "    version: 2.6.5"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 10,
                    column: 14,
                    keyPath: "instances.lab.version",
                    mentions: ["3.0"]
                )
            ]
        ),
        BrokenCheck(
            name: "container before 2020.6",
            yaml: yaml(clone, [5: "    platform: linux-container", 10: "    version: 2019.13.5", 11: ""]),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 10,
                    column: 14,
                    keyPath: "instances.lab.version",
                    mentions: ["2020.6"]
                )
            ]
        ),
        BrokenCheck(
            name: "instance on an unknown host",
            yaml: yaml(clone, [9: "    hosts: [vm9]"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownName,
                    line: 9,
                    column: 13,
                    keyPath: "instances.lab.hosts[0]",
                    mentions: ["`vm9`", "did you mean `vm1`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "instance on a host without platform",
            yaml: yaml(clone, [5: "    port: 22"]),
            problems: [
                ExpectedCheckProblem(
                    code: .missingKey,
                    line: 9,
                    column: 12,
                    keyPath: "hosts.vm1.platform",
                    mentions: ["defaults.platform"]
                )
            ]
        ),
        BrokenCheck(
            name: "instance over two platforms",
            yaml: yaml(
                host + ["  vm2:", "    address: 127.0.0.2", "    user: root", "    platform: windows"]
                    + Array(clone[5...]),
                [13: "    hosts: ['vm*']"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 13,
                    column: 12,
                    keyPath: "instances.lab.hosts",
                    mentions: ["windows (vm2); standin (vm1)", "one instance per platform"]
                )
            ]
        ),
        BrokenCheck(
            name: "test instance without source",
            yaml: yaml(Array(test.prefix(11))),
            problems: [
                ExpectedCheckProblem(
                    code: .missingKey,
                    line: 7,
                    column: 3,
                    keyPath: "instances.lab.source",
                    mentions: ["import projects"]
                )
            ]
        ),
        BrokenCheck(
            name: "clone without backup and master_key",
            yaml: yaml(Array(clone.prefix(11))),
            problems: [
                ExpectedCheckProblem(code: .missingKey, line: 7, column: 3, keyPath: "instances.lab.backup"),
                ExpectedCheckProblem(code: .missingKey, line: 7, column: 3, keyPath: "instances.lab.master_key"),
            ]
        ),
        BrokenCheck(
            name: "missing backup file",
            yaml: yaml(clone, [12: "    backup: backups/none.bak"]),
            problems: [
                ExpectedCheckProblem(
                    code: .fileNotFound,
                    line: 12,
                    column: 13,
                    keyPath: "instances.lab.backup",
                    mentions: ["/backups/none.bak", "does not exist"]
                )
            ]
        ),
        BrokenCheck(
            name: "sha256 too short",
            yaml: yaml(clone, [11: "    package: {sha256: abc123, mirror: mirror}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 11,
                    column: 23,
                    keyPath: "instances.lab.package.sha256",
                    mentions: ["64 hexadecimal digits"]
                )
            ]
        ),
        BrokenCheck(
            name: "two instances on one host",
            yaml: yaml(clone, [:], ["  lab2:"] + Array(clone[7...])),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 14,
                    column: 3,
                    keyPath: "instances.lab2.hosts",
                    mentions: ["names host `vm1`, which instance `lab` has already", "give `lab2` other hosts"]
                )
            ]
        ),
        BrokenCheck(
            name: "two instances on two hosts",
            yaml: {
                let vm2 = ["  vm2:", "    address: 127.0.0.2", "    user: root", "    platform: standin"]
                let lab = Array(clone[5...]).map { $0.replacingOccurrences(of: "[vm1]", with: "['vm*']") }
                return yaml(host + vm2 + lab, [:], ["  lab2:"] + Array(lab[2...]))
            }(),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 18,
                    column: 3,
                    keyPath: "instances.lab2.hosts",
                    mentions: ["names hosts `vm1`, `vm2`, which instance `lab` has already"]
                )
            ]
        ),
        BrokenCheck(
            name: "two package sources",
            yaml: yaml(
                clone,
                [11: "    package: {sha256: \(CheckFixture.packageSHA256), mirror: mirror, file: pkg.msi}"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 11,
                    column: 105,
                    keyPath: "instances.lab.package.file",
                    mentions: ["besides `mirror`"]
                )
            ]
        ),
        BrokenCheck(
            name: "mirror without the version's package",
            yaml: yaml(clone, [10: "    version: 2023.3.9999"]),
            problems: [
                ExpectedCheckProblem(
                    code: .fileNotFound,
                    line: 11,
                    column: 97,
                    keyPath: "instances.lab.package.mirror",
                    mentions: ["octopus-standin-2023.3.9999.tar.gz"]
                )
            ]
        ),
        BrokenCheck(
            name: "package checksum mismatch",
            yaml: yaml(clone, [11: "    package: {sha256: \(String(repeating: "ab", count: 32)), file: pkg.msi}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .checksumMismatch,
                    line: 11,
                    column: 23,
                    keyPath: "instances.lab.package.sha256",
                    mentions: [CheckFixture.packageSHA256]
                )
            ]
        ),
        BrokenCheck(
            name: "comms_port out of range",
            yaml: yaml(clone, [:], ["    comms_port: 70000"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 14,
                    column: 17,
                    keyPath: "instances.lab.comms_port",
                    mentions: ["1 to 65535"]
                )
            ]
        ),
        BrokenCheck(
            name: "web_listen_prefix without a scheme",
            yaml: yaml(clone, [:], ["    web_listen_prefix: localhost:8080"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 14,
                    column: 24,
                    keyPath: "instances.lab.web_listen_prefix",
                    mentions: ["http://localhost:8080"]
                )
            ]
        ),
        BrokenCheck(
            name: "inline master key",
            yaml: yaml(clone, [13: "    master_key: Nc91+1kfZszMpe7DMne8wg=="]),
            problems: [
                ExpectedCheckProblem(
                    code: .inlineSecret,
                    line: 13,
                    column: 17,
                    keyPath: "instances.lab.master_key",
                    mentions: ["env:NAME", "file:PATH"]
                )
            ],
            mustNotMention: ["Nc91"]
        ),
        BrokenCheck(
            name: "unset environment secret",
            yaml: yaml(clone),
            environment: [:],
            problems: [
                ExpectedCheckProblem(
                    code: .secretNotSet,
                    line: 13,
                    column: 17,
                    keyPath: "instances.lab.master_key",
                    mentions: ["MASTER_KEY", "not set"]
                )
            ]
        ),
        BrokenCheck(
            name: "empty environment secret",
            yaml: yaml(clone),
            environment: ["MASTER_KEY": ""],
            problems: [
                ExpectedCheckProblem(
                    code: .secretNotSet,
                    line: 13,
                    column: 17,
                    keyPath: "instances.lab.master_key",
                    mentions: ["empty"]
                )
            ]
        ),
        BrokenCheck(
            name: "licence file readable by others",
            yaml: yaml(clone, [:], ["    license: file:secrets/open.xml"]),
            files: [FixtureFile(path: "secrets/open.xml", contents: "x", mode: 0o644)],
            problems: [
                ExpectedCheckProblem(
                    code: .insecureSecretFile,
                    line: 14,
                    column: 14,
                    keyPath: "instances.lab.license",
                    mentions: ["chmod 600"]
                )
            ]
        ),
        BrokenCheck(
            name: "quarantine off without acknowledgement",
            yaml: yaml(clone, [:], ["    quarantine:", "      triggers: false"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unsafeQuarantine,
                    line: 15,
                    column: 17,
                    keyPath: "instances.lab.quarantine.triggers",
                    mentions: ["acknowledge", "deploy"]
                )
            ]
        ),
        BrokenCheck(
            name: "acknowledged switch that is on",
            yaml: yaml(clone, [:], ["    quarantine:", "      acknowledge: [targets]"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 15,
                    column: 21,
                    keyPath: "instances.lab.quarantine.acknowledge",
                    mentions: ["`targets`, which is on"]
                )
            ]
        ),
        BrokenCheck(
            name: "unknown quarantine switch",
            yaml: yaml(clone, [:], ["    quarantine:", "      trigers: false"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownKey,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.quarantine.trigers",
                    mentions: ["did you mean `triggers`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "unknown verify check",
            yaml: yaml(clone, [:], ["    verify: [version, helth]"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 14,
                    column: 23,
                    keyPath: "instances.lab.verify[1]",
                    mentions: ["did you mean `health`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "verify check of the other mode",
            yaml: yaml(clone, [:], ["    verify: [projects]"]),
            problems: [
                ExpectedCheckProblem(code: .conflictingKeys, line: 14, column: 14, keyPath: "instances.lab.verify[0]")
            ]
        ),
        BrokenCheck(
            name: "source on a clone",
            yaml: yaml(clone, [:], ["    source: {url: 'https://x.example'}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 14,
                    column: 5,
                    keyPath: "instances.lab.source",
                    mentions: ["test-instance"]
                )
            ]
        ),
        BrokenCheck(
            name: "Export/Import before 2021.1 without source.host",
            yaml: yaml(test, [10: "    version: 2020.1.10"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 12,
                    column: 5,
                    keyPath: "instances.lab.source.host",
                    mentions: ["2021.1", "Migrator"]
                )
            ]
        ),
        BrokenCheck(
            name: "source.host that is no host",
            yaml: yaml(test, [10: "    version: 2020.1.10"], ["      host: prod"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownName,
                    line: 17,
                    column: 13,
                    keyPath: "instances.lab.source.host",
                    mentions: ["`prod`"]
                )
            ]
        ),
        BrokenCheck(
            name: "space before 2019.1",
            yaml: yaml(
                test,
                [
                    10: "    version: 2018.10.1",
                    11: "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}",
                ],
                ["      space: Default", "      host: vm1"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 17,
                    column: 7,
                    keyPath: "instances.lab.source.space",
                    mentions: ["2019.1"]
                )
            ]
        ),
        BrokenCheck(
            name: "space named twice",
            yaml: yaml(test, [15: "      space: Default\n      projects: {Default: [Web], Ops: [Db]}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.source.space",
                    mentions: ["`instances.lab.source.projects`"]
                )
            ]
        ),
        BrokenCheck(
            name: "spaces before 2019.1",
            yaml: yaml(
                test,
                [
                    10: "    version: 2018.10.1",
                    11: "    package: {sha256: \(CheckFixture.packageSHA256), file: pkg.msi}",
                    15: "      projects: {Default: [Web]}",
                ],
                ["      host: vm1"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.source.projects",
                    mentions: ["2019.1", "plain list"]
                )
            ]
        ),
        BrokenCheck(
            name: "two spaces on the Migrator route",
            yaml: yaml(
                test,
                [10: "    version: 2020.1.10", 15: "      projects: {Default: [Web], Ops: [Db]}"],
                ["      host: vm1"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.source.projects",
                    mentions: ["Octopus.Migrator", "one space per test instance"]
                )
            ]
        ),
        BrokenCheck(
            name: "a space twice, ignoring case, and a space with no projects",
            yaml: yaml(test, [15: "      projects: {Default: [Web], default: [Db], Ops: []}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .duplicateKey,
                    line: 15,
                    column: 34,
                    keyPath: "instances.lab.source.projects.default",
                    mentions: ["`Default`"]
                ),
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 15,
                    column: 54,
                    keyPath: "instances.lab.source.projects.Ops",
                    mentions: ["space `Ops`"]
                ),
            ]
        ),
        BrokenCheck(
            name: "an export file before 2021.1, and no source server",
            yaml: yaml(
                test,
                [10: "    version: 2020.1.10", 13: "      export_file: projects.zip", 14: ""],
                ["      host: vm1"]
            ),
            files: [FixtureFile(path: "projects.zip", contents: "PK")],
            problems: [
                ExpectedCheckProblem(
                    code: .unsupportedVersion,
                    line: 13,
                    column: 7,
                    keyPath: "instances.lab.source.export_file",
                    mentions: ["2021.1", "Octopus.Migrator"]
                )
            ]
        ),
        BrokenCheck(
            name: "an export file for several spaces, with server_uri to check",
            yaml: yaml(
                test,
                [13: "      export_file: projects.zip", 14: "", 15: "      projects: {Default: [Web], Ops: [Db]}"],
                ["    verify: [version, server_uri]"]
            ),
            files: [FixtureFile(path: "projects.zip", contents: "PK")],
            problems: [
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.source.projects",
                    mentions: ["one export of one space"]
                ),
                ExpectedCheckProblem(
                    code: .conflictingKeys,
                    line: 17,
                    column: 5,
                    keyPath: "instances.lab.verify",
                    mentions: ["`source.url`"]
                ),
            ]
        ),
        BrokenCheck(
            name: "a missing export file",
            yaml: yaml(test, [13: "      export_file: projects.zip", 14: ""]),
            problems: [
                ExpectedCheckProblem(
                    code: .fileNotFound,
                    line: 13,
                    column: 20,
                    keyPath: "instances.lab.source.export_file",
                    mentions: ["projects.zip"]
                )
            ]
        ),
        BrokenCheck(
            name: "secret-looking variable",
            yaml: yaml(host, [:], ["    vars: {db_password: hunter2-secret}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .inlineSecret,
                    line: 6,
                    column: 12,
                    keyPath: "hosts.vm1.vars.db_password",
                    mentions: ["env:NAME"]
                )
            ],
            mustNotMention: ["hunter2"]
        ),
        BrokenCheck(
            name: "derived variable in vars",
            yaml: yaml(host, [:], ["    vars:", "      connection_string: x"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 7,
                    column: 7,
                    keyPath: "hosts.vm1.vars.connection_string",
                    mentions: ["`sql_server` and `database`"]
                )
            ]
        ),
        BrokenCheck(
            name: "variable that is a mapping",
            yaml: yaml(host, [:], ["    vars:", "      sql_server: {name: db1}"]),
            problems: [
                ExpectedCheckProblem(code: .wrongType, line: 7, column: 19, keyPath: "hosts.vm1.vars.sql_server")
            ]
        ),
        BrokenCheck(
            name: "host var with a bad port",
            yaml: yaml(clone, [5: "    platform: standin\n    vars: {comms_port: abc}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 6,
                    column: 24,
                    keyPath: "hosts.vm1.vars.comms_port",
                    mentions: ["`abc`"]
                )
            ]
        ),
        BrokenCheck(
            name: "group var with a relative Windows path",
            yaml: yaml(
                clone,
                [
                    5: "    platform: windows",
                    11: "    package: {sha256: \(CheckFixture.packageSHA256), mirror: mirror}",
                ],
                ["groups:", "  all:", "    members: [vm1]", "    vars: {home_dir: Octopus}"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 17,
                    column: 22,
                    keyPath: "groups.all.vars.home_dir",
                    mentions: ["absolute path on a windows host"]
                )
            ]
        ),
        BrokenCheck(
            name: "--var without =",
            yaml: yaml(clone),
            variables: ["sql_server"],
            problems: [ExpectedCheckProblem(code: .invalidValue, line: 0, keyPath: "--var", mentions: ["NAME=VALUE"])]
        ),
        BrokenCheck(
            name: "--var of a derived name",
            yaml: yaml(clone),
            variables: ["web_port=1"],
            problems: [
                ExpectedCheckProblem(code: .invalidValue, line: 0, keyPath: "--var web_port", mentions: ["derives"])
            ]
        ),
        BrokenCheck(
            name: "--var with a bad value",
            yaml: yaml(clone),
            variables: ["web_listen_prefix=ftp://x"],
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 0,
                    keyPath: "--var web_listen_prefix",
                    mentions: ["ftp://x"]
                )
            ]
        ),
        BrokenCheck(
            name: "missing mode",
            yaml: yaml(clone, [8: "    # no mode"]),
            problems: [ExpectedCheckProblem(code: .missingKey, line: 7, column: 3, keyPath: "instances.lab.mode")]
        ),
        BrokenCheck(
            name: "mode typo",
            yaml: yaml(clone, [8: "    mode: clon"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 8,
                    column: 11,
                    keyPath: "instances.lab.mode",
                    mentions: ["did you mean `clone`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "unknown folder key",
            yaml: yaml(clone, [:], ["    folders:", "      tasklogs: production/TaskLogs"]),
            problems: [
                ExpectedCheckProblem(
                    code: .unknownKey,
                    line: 15,
                    column: 7,
                    keyPath: "instances.lab.folders.tasklogs",
                    mentions: ["did you mean `task_logs`?"]
                )
            ]
        ),
        BrokenCheck(
            name: "missing folder",
            yaml: yaml(clone, [:], ["    folders:", "      artifacts: production/Artifacts"]),
            problems: [
                ExpectedCheckProblem(
                    code: .fileNotFound,
                    line: 15,
                    column: 18,
                    keyPath: "instances.lab.folders.artifacts",
                    mentions: ["production/Artifacts"]
                )
            ]
        ),
        BrokenCheck(
            name: "duplicate instance",
            yaml: yaml(clone, [:], Array(clone[6...])),
            problems: [
                ExpectedCheckProblem(
                    code: .duplicateKey,
                    line: 14,
                    column: 3,
                    keyPath: "instances.lab",
                    mentions: ["line 7"]
                )
            ]
        ),
        BrokenCheck(
            name: "admin without password",
            yaml: yaml(clone, [:], ["    admin: {username: breakglass}"]),
            problems: [
                ExpectedCheckProblem(code: .missingKey, line: 14, column: 5, keyPath: "instances.lab.admin.password")
            ]
        ),
        // Issue 17: every file an inventory names is a regular file, refused at its line before anything reads it
        // (`/dev/zero` as a package or backup would be hashed forever).
        BrokenCheck(
            name: "a device as the backup",
            yaml: yaml(clone, [12: "    backup: /dev/zero"]),
            problems: [
                ExpectedCheckProblem(
                    code: .notRegularFile,
                    line: 12,
                    column: 13,
                    keyPath: "instances.lab.backup",
                    mentions: ["/dev/zero", "not a regular file"]
                )
            ]
        ),
        BrokenCheck(
            name: "a device as the package file",
            yaml: yaml(clone, [11: "    package: {sha256: \(CheckFixture.packageSHA256), file: /dev/zero}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .notRegularFile,
                    line: 11,
                    keyPath: "instances.lab.package.file",
                    mentions: ["/dev/zero"]
                )
            ]
        ),
        BrokenCheck(
            name: "a device as the identity",
            yaml: yaml(clone, [4: "    user: root\n    identity: /dev/zero"]),
            problems: [
                ExpectedCheckProblem(
                    code: .notRegularFile,
                    line: 5,
                    column: 15,
                    keyPath: "hosts.vm1.identity",
                    mentions: ["/dev/zero"]
                )
            ]
        ),
        BrokenCheck(
            name: "a folder as known_hosts",
            yaml: yaml(clone, [4: "    user: root\n    known_hosts: production"]),
            problems: [
                ExpectedCheckProblem(
                    code: .notRegularFile,
                    line: 5,
                    column: 18,
                    keyPath: "hosts.vm1.known_hosts",
                    mentions: ["/production, which is a folder"]
                )
            ]
        ),
        BrokenCheck(
            name: "an identity group and others can read",
            yaml: yaml(clone, [4: "    user: root\n    identity: keys/id_open"]),
            files: [FixtureFile(path: "keys/id_open", contents: "key\n", mode: 0o644)],
            problems: [
                ExpectedCheckProblem(
                    code: .insecureSecretFile,
                    line: 5,
                    column: 15,
                    keyPath: "hosts.vm1.identity",
                    mentions: ["group or others can read", "chmod 600"]
                )
            ]
        ),
        BrokenCheck(
            name: "a Server URI longer than quarantine.sql's NVARCHAR(4000)",
            yaml: yaml(
                clone,
                [
                    5:
                        "    platform: standin\n    vars: {server_uri: 'http://clone/\(String(repeating: "a", count: 3990))'}"
                ]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 6,
                    keyPath: "hosts.vm1.vars.server_uri",
                    mentions: ["at most 4000 characters"]
                )
            ]
        ),
        BrokenCheck(
            name: "a database name ending in an invisible character",
            yaml: yaml(clone, [5: "    platform: standin\n    vars: {database: \"Octo \\u200B\"}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 6,
                    keyPath: "hosts.vm1.vars.database",
                    mentions: ["U+200B"]
                )
            ]
        ),
        BrokenCheck(
            name: "a database name ending in a blank",
            yaml: yaml(clone, [5: "    platform: standin\n    vars: {database: 'Octo '}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 6,
                    keyPath: "hosts.vm1.vars.database",
                    mentions: ["blank"]
                )
            ]
        ),
        BrokenCheck(
            name: "a NUL in the admin's user name",
            yaml: yaml(clone, [:], ["    admin: {username: \"break\\0glass\", password: env:ADMIN_PW}"]),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 14,
                    keyPath: "instances.lab.admin.username",
                    mentions: ["one line without control characters"]
                )
            ]
        ),
        BrokenCheck(
            name: "a line break in the admin's e-mail",
            yaml: yaml(
                clone,
                [:],
                ["    admin: {username: ops, email: \"ops@example.com\\nBcc: x@y\", password: env:ADMIN_PW}"]
            ),
            problems: [
                ExpectedCheckProblem(
                    code: .invalidValue,
                    line: 14,
                    keyPath: "instances.lab.admin.email",
                    mentions: ["one line"]
                )
            ]
        ),
        BrokenCheck(
            name: "package missing on windows",
            yaml: yaml(clone, [5: "    platform: windows", 11: "    # no package"]),
            problems: [ExpectedCheckProblem(code: .missingKey, line: 7, column: 3, keyPath: "instances.lab.package")]
        ),
    ]
}

@Suite struct BrokenCheckTests {
    @Test(arguments: BrokenCheck.all)
    func everyProblemNamesItsPlaceAndKey(_ broken: BrokenCheck) throws {
        let check = try CheckFixture.check(
            broken.yaml,
            files: broken.files,
            environment: broken.environment,
            variables: broken.variables
        )
        let errors = check.errors
        try #require(
            errors.count == broken.problems.count,
            "expected \(broken.problems.count) problem(s), got:\n\(errors.map(\.description).joined(separator: "\n"))"
        )
        #expect(!check.isValid)
        for (error, expected) in zip(errors, broken.problems) {
            #expect(error.code == expected.code, "\(error)")
            #expect(error.keyPath == expected.keyPath, "\(error)")
            #expect(error.location.line == expected.line, "\(error)")
            if let column = expected.column {
                #expect(error.location.column == column, "\(error)")
            }
            if expected.line > 0 {
                #expect(error.location.file.hasSuffix("/inventory.yml"))
                #expect(error.description.hasPrefix("\(error.location.file):\(expected.line):"))
            } else {
                #expect(error.description.hasPrefix("--var: "))
            }
            #expect(error.message.contains("`\(expected.keyPath)`") || expected.keyPath == "--var", "\(error)")
            for text in expected.mentions {
                #expect(error.message.contains(text), "\(error.message) should mention \(text)")
            }
            for text in broken.mustNotMention {
                #expect(!error.description.contains(text), "\(error.message) must not repeat the secret")
            }
            for secret in CheckFixture.environment.values {
                #expect(!error.description.contains(secret))
            }
        }
    }

    /// A FIFO named as a package or `known_hosts` would block a reader forever: the check refuses it without
    /// opening it (a hang here is the failure).
    @Test func aFIFOIsRefusedWithoutBeingOpened() throws {
        let yaml = BrokenCheck.yaml(
            BrokenCheck.clone,
            [
                4: "    user: root\n    known_hosts: pipe",
                11: "    package: {sha256: \(CheckFixture.packageSHA256), file: pipe}",
            ]
        )
        try withTemporaryDirectory(CheckFixture.files + [FixtureFile(path: "inventory.yml", contents: yaml)]) {
            directory in
            try #require(mkfifo(directory + "/pipe", 0o600) == 0)
            var environment = CheckFixture.environment
            environment["HOME"] = directory + "/home"
            let check = InventoryCheck.run(path: directory + "/inventory.yml", environment: environment)
            let found = check.errors.map { "\($0.code) \($0.location.line) \($0.keyPath)" }
            #expect(
                found == ["notRegularFile 5 hosts.vm1.known_hosts", "notRegularFile 12 instances.lab.package.file"]
            )
            #expect(check.errors.allSatisfy { $0.message.contains(directory + "/pipe, which is not a regular file") })
        }
    }

    @Test func thereAreAtLeastTwentyFiveBrokenInventories() {
        #expect(BrokenCheck.all.count >= 25)
    }
}
