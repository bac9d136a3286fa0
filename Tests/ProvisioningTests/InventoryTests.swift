import Foundation
import Provisioning
import Testing

// MARK: - Fixtures

/// A file to write into a test's temporary folder.
struct FixtureFile: Sendable {
    var path: String
    var contents: String
    var mode: Int = 0o644
}

/// Runs `body` with a fresh temporary folder holding `files`, and removes the folder afterwards.
func withTemporaryDirectory<Result>(
    _ files: [FixtureFile] = [],
    _ body: (String) throws -> Result
) throws -> Result {
    let fileManager = FileManager.default
    let directory = fileManager.temporaryDirectory.appendingPathComponent("octoprov-inventory-\(UUID().uuidString)")
        .path
    try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? fileManager.removeItem(atPath: directory) }
    for file in files {
        let path = directory + "/" + file.path
        try fileManager.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try file.contents.write(toFile: path, atomically: false, encoding: .utf8)
        try fileManager.setAttributes([.posixPermissions: file.mode], ofItemAtPath: path)
    }
    return try body(directory)
}

/// The errors of loading `yaml` (written as `inventory.yml` beside `files`), or an empty list if it loads.
func loadErrors(_ yaml: String, files: [FixtureFile] = []) throws -> [InventoryError] {
    try withTemporaryDirectory(files + [FixtureFile(path: "inventory.yml", contents: yaml)]) { directory in
        do {
            _ = try Inventory.load(path: directory + "/inventory.yml", environment: ["HOME": directory + "/home"])
            return []
        } catch let error as InventoryErrors {
            return error.errors
        }
    }
}

// MARK: - Loading

@Suite struct InventoryLoadingTests {
    @Test func validInventoryResolvesPathsAndAppliesDefaults() throws {
        let yaml = """
            defaults:
              user: root
              known_hosts: keys/known_hosts
              connect_timeout: 5
              platform: windows
              vars: {sql_server: db1}
            hosts:
              vm1:
                address: 127.0.0.1
                port: 2222
                identity: keys/id_ed25519
                identity_passphrase: env:VM_KEY_PASS
                agent: false
              vm2:
                address: 127.0.0.2
                user: octo
                password: file:secrets/../secrets/vm2.pw
                known_hosts: ~/.ssh/known_hosts
                host_key_policy: accept-new
                connect_timeout: 2.5
                platform: standin
                vars: {sql_server: db2, comms_port: 10944}
            """
        let files = [
            FixtureFile(path: "keys/id_ed25519", contents: "not really a key\n", mode: 0o600),
            FixtureFile(path: "secrets/vm2.pw", contents: "pw\n", mode: 0o600),
        ]
        try withTemporaryDirectory(files + [FixtureFile(path: "inventory.yml", contents: yaml)]) { directory in
            let inventory = try Inventory.load(
                path: directory + "/inventory.yml",
                environment: ["HOME": "/home/tester"]
            )
            #expect(inventory.path == directory + "/inventory.yml")
            #expect(inventory.hosts.map(\.name) == ["vm1", "vm2"])

            let vm1 = try #require(inventory.hosts.first)
            #expect(vm1.address == "127.0.0.1")
            #expect(vm1.port == 2222)
            #expect(vm1.user == "root")
            #expect(vm1.identity == directory + "/keys/id_ed25519")
            #expect(vm1.identityPassphrase?.description == "env:VM_KEY_PASS")
            #expect(vm1.password == nil)
            #expect(vm1.agent == false)
            #expect(vm1.knownHosts == directory + "/keys/known_hosts")
            #expect(vm1.hostKeyPolicy == .strict)
            #expect(vm1.connectTimeout == 5)
            #expect(vm1.location.line == 8)
            #expect(vm1.location.column == 3)
            #expect(vm1.location.description == directory + "/inventory.yml:8:3")
            #expect(vm1.platform == .windows)
            #expect(vm1.vars.mapValues(\.value) == ["sql_server": "db1"])
            #expect(vm1.vars["sql_server"]?.keyPath == "defaults.vars.sql_server")

            let vm2 = try #require(inventory.hosts.last)
            #expect(vm2.port == 22)
            #expect(vm2.user == "octo")
            #expect(vm2.identity == nil)
            #expect(vm2.password?.description == "file:\(directory)/secrets/vm2.pw")
            #expect(vm2.password?.location.line == 17)
            #expect(vm2.platform == .standin)
            #expect(vm2.vars.mapValues(\.value) == ["sql_server": "db2", "comms_port": "10944"])
            #expect(vm2.vars["comms_port"]?.location.line == 22)
            #expect(vm2.agent == nil)
            #expect(vm2.knownHosts == "/home/tester/.ssh/known_hosts")
            #expect(vm2.hostKeyPolicy == .acceptNew)
            #expect(vm2.connectTimeout == 2.5)
        }
    }

    @Test func knownHostsDefaultsToTheHomeDirectory() throws {
        let yaml = "hosts:\n  vm1:\n    address: 127.0.0.1\n    user: root\n"
        try withTemporaryDirectory([FixtureFile(path: "inventory.yml", contents: yaml)]) { directory in
            let inventory = try Inventory.load(path: directory + "/inventory.yml", environment: ["HOME": "/home/t"])
            #expect(inventory.hosts.first?.knownHosts == "/home/t/.ssh/known_hosts")
            #expect(inventory.hosts.first?.connectTimeout == 10)
        }
    }

    @Test func missingInventoryFileIsReportedWithoutALine() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/nope.yml"
            let error = try #require(throws: InventoryErrors.self) { try Inventory.load(path: path) }
            #expect(error.errors.map(\.code) == [.unreadableFile])
            #expect(error.description == "\(path): The inventory file does not exist.")
        }
    }

    @Test func anInventoryThatIsNotUTF8IsRefusedAtItsFirstInvalidByte() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/latin1.yml"
            // "café" in Latin-1 on line 3: é is the byte 0xE9, which UTF-8 never has on its own.
            let bytes = Data("hosts:\n  vm1:\n    user: caf".utf8) + Data([0xE9]) + Data("\n".utf8)
            try bytes.write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: InventoryErrors.self) { try Inventory.load(path: path) }
            #expect(error.errors.map(\.code) == [.unreadableFile])
            #expect(
                error.description == "\(path):3:14: The inventory is not UTF-8 text from here on; save it as UTF-8."
            )
        }
    }

    @Test func exampleInventoryLoads() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let example = try String(
            contentsOf: repository.appendingPathComponent("Inventories/ssh-only.yml"),
            encoding: .utf8
        )
        let files = [
            FixtureFile(path: "ssh-only.yml", contents: example),
            FixtureFile(path: "keys/id_ed25519", contents: "key\n", mode: 0o600),
            FixtureFile(path: "secrets/vm2.pw", contents: "pw\n", mode: 0o600),
        ]
        try withTemporaryDirectory(files) { directory in
            let inventory = try Inventory.load(path: directory + "/ssh-only.yml")
            #expect(inventory.hosts.map(\.name) == ["vm1", "vm2", "web1"])
            #expect(inventory.hosts.allSatisfy { $0.address.hasPrefix("127.") || $0.address.hasPrefix("192.0.2.") })
        }
    }
}

// MARK: - Broken inventories

/// A problem a broken inventory must report.
struct ExpectedProblem: Sendable {
    var code: InventoryError.Code
    var line: Int
    var column: Int?
    /// Text the message must contain (the key path, usually).
    var mentions: [String]
}

/// An inventory with problems, and what loading it must report (all of it, in file order).
struct BrokenInventory: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var files: [FixtureFile] = []
    var problems: [ExpectedProblem]
    /// Text that must appear in no message (an inline secret).
    var mustNotMention: [String] = []

    var testDescription: String { name }

    static let host = "hosts:\n  vm1:\n    address: 127.0.0.1\n    user: root\n"

    static let all: [BrokenInventory] = [
        BrokenInventory(
            name: "bad YAML",
            yaml: "hosts:\n  vm1:\n    address: \"127.0.0.1\n    user: root\n",
            problems: [ExpectedProblem(code: .syntaxError, line: 5, column: 1, mentions: ["not valid YAML"])]
        ),
        BrokenInventory(
            name: "tab indentation",
            yaml: "hosts:\n  vm1:\n\taddress: 127.0.0.1\n",
            problems: [ExpectedProblem(code: .syntaxError, line: 3, column: 1, mentions: ["tab", "spaces"])]
        ),
        BrokenInventory(
            name: "top level is a list",
            yaml: "- vm1\n- vm2\n",
            problems: [ExpectedProblem(code: .wrongType, line: 1, column: 1, mentions: ["`hosts`", "a list"])]
        ),
        BrokenInventory(
            name: "hots typo",
            yaml: "hots:\n  vm1:\n    address: 127.0.0.1\n    user: root\n",
            problems: [ExpectedProblem(code: .unknownKey, line: 1, column: 1, mentions: ["`hots`", "`hosts`"])]
        ),
        BrokenInventory(
            name: "unknown top-level key without a near name",
            yaml: host + "playbooks: []\n",
            problems: [ExpectedProblem(code: .unknownKey, line: 5, column: 1, mentions: ["`playbooks`", "`defaults`"])]
        ),
        BrokenInventory(
            name: "adress typo",
            yaml: "hosts:\n  vm1:\n    adress: 127.0.0.1\n    user: root\n",
            problems: [
                ExpectedProblem(code: .missingKey, line: 2, column: 3, mentions: ["`hosts.vm1.address`"]),
                ExpectedProblem(code: .unknownKey, line: 3, column: 5, mentions: ["`hosts.vm1.adress`", "`address`"]),
            ]
        ),
        BrokenInventory(
            name: "port abc",
            yaml: host + "    port: abc\n",
            problems: [ExpectedProblem(code: .wrongType, line: 5, column: 11, mentions: ["`hosts.vm1.port`", "`abc`"])]
        ),
        BrokenInventory(
            name: "port 70000",
            yaml: host + "    port: 70000\n",
            problems: [
                ExpectedProblem(code: .invalidValue, line: 5, column: 11, mentions: ["`hosts.vm1.port`", "65535"])
            ]
        ),
        BrokenInventory(
            name: "agent maybe",
            yaml: host + "    agent: maybe\n",
            problems: [
                ExpectedProblem(code: .wrongType, line: 5, column: 12, mentions: ["`hosts.vm1.agent`", "`maybe`"])
            ]
        ),
        BrokenInventory(
            name: "connect_timeout zero",
            yaml: host + "    connect_timeout: 0\n",
            problems: [
                ExpectedProblem(code: .invalidValue, line: 5, column: 22, mentions: ["`hosts.vm1.connect_timeout`"])
            ]
        ),
        BrokenInventory(
            name: "empty address",
            yaml: "hosts:\n  vm1:\n    address: \"\"\n    user: root\n",
            problems: [ExpectedProblem(code: .invalidValue, line: 3, column: 14, mentions: ["`hosts.vm1.address`"])]
        ),
        BrokenInventory(
            name: "duplicate host",
            yaml: host
                + "  vm2:\n    address: 127.0.0.2\n    user: root\n  vm1:\n    address: 127.0.0.3\n    user: root\n",
            problems: [ExpectedProblem(code: .duplicateKey, line: 8, column: 3, mentions: ["`hosts.vm1`", "line 2"])]
        ),
        BrokenInventory(
            name: "duplicate host key",
            yaml: host + "    port: 2222\n    port: 2223\n",
            problems: [
                ExpectedProblem(code: .duplicateKey, line: 6, column: 5, mentions: ["`hosts.vm1.port`", "line 5"])
            ]
        ),
        BrokenInventory(
            name: "missing address",
            yaml: "hosts:\n  vm1:\n    user: root\n",
            problems: [ExpectedProblem(code: .missingKey, line: 2, column: 3, mentions: ["`hosts.vm1.address`"])]
        ),
        BrokenInventory(
            name: "missing user",
            yaml: "hosts:\n  vm1:\n    address: 127.0.0.1\n",
            problems: [
                ExpectedProblem(
                    code: .missingKey,
                    line: 2,
                    column: 3,
                    mentions: ["`hosts.vm1.user`", "`defaults.user`"]
                )
            ]
        ),
        BrokenInventory(
            name: "unknown host_key_policy",
            yaml: host + "    host_key_policy: trust-all\n",
            problems: [
                ExpectedProblem(
                    code: .invalidValue,
                    line: 5,
                    column: 22,
                    mentions: ["`hosts.vm1.host_key_policy`", "`strict`", "`accept-new`", "`trust-all`"]
                )
            ]
        ),
        BrokenInventory(
            name: "missing identity file",
            yaml: host + "    identity: keys/id_missing\n",
            problems: [
                ExpectedProblem(
                    code: .fileNotFound,
                    line: 5,
                    column: 15,
                    mentions: ["`hosts.vm1.identity`", "/keys/id_missing"]
                )
            ]
        ),
        BrokenInventory(
            name: "inline password",
            yaml: host + "    password: Hunter2-Secret\n",
            problems: [
                ExpectedProblem(
                    code: .inlineSecret,
                    line: 5,
                    column: 15,
                    mentions: ["`hosts.vm1.password`", "env:NAME", "file:PATH"]
                )
            ],
            mustNotMention: ["Hunter2"]
        ),
        BrokenInventory(
            name: "inline passphrase in defaults",
            yaml: "defaults:\n  identity_passphrase: 'correct horse'\n" + host,
            problems: [
                ExpectedProblem(code: .inlineSecret, line: 2, column: 24, mentions: ["`defaults.identity_passphrase`"])
            ],
            mustNotMention: ["horse"]
        ),
        BrokenInventory(
            name: "env reference without a name",
            yaml: host + "    password: 'env:'\n",
            problems: [
                ExpectedProblem(code: .invalidSecretReference, line: 5, column: 15, mentions: ["`hosts.vm1.password`"])
            ]
        ),
        BrokenInventory(
            name: "secret file with mode 0644",
            yaml: host + "    password: file:secrets/vm1.pw\n",
            files: [FixtureFile(path: "secrets/vm1.pw", contents: "pw\n", mode: 0o644)],
            problems: [
                ExpectedProblem(
                    code: .insecureSecretFile,
                    line: 5,
                    column: 15,
                    mentions: ["`hosts.vm1.password`", "chmod 600", "/secrets/vm1.pw"]
                )
            ]
        ),
        BrokenInventory(
            name: "missing secret file",
            yaml: host + "    password: file:secrets/none.pw\n",
            problems: [
                ExpectedProblem(
                    code: .fileNotFound,
                    line: 5,
                    column: 15,
                    mentions: ["`hosts.vm1.password`", "none.pw"]
                )
            ]
        ),
        BrokenInventory(
            name: "empty hosts",
            yaml: "defaults:\n  user: root\nhosts: {}\n",
            problems: [ExpectedProblem(code: .noHosts, line: 3, column: 1, mentions: ["`hosts`"])]
        ),
        BrokenInventory(
            name: "no hosts key",
            yaml: "defaults:\n  user: root\n",
            problems: [ExpectedProblem(code: .noHosts, line: 1, column: 1, mentions: ["`hosts`"])]
        ),
        BrokenInventory(
            name: "empty file",
            yaml: "",
            problems: [ExpectedProblem(code: .noHosts, line: 1, column: 1, mentions: ["`hosts`"])]
        ),
        BrokenInventory(
            name: "hosts is a list",
            yaml: "hosts:\n  - vm1\n",
            problems: [ExpectedProblem(code: .wrongType, line: 2, column: 3, mentions: ["`hosts`", "a list"])]
        ),
        BrokenInventory(
            name: "address in defaults",
            yaml: "defaults:\n  address: 127.0.0.1\n" + host,
            problems: [ExpectedProblem(code: .invalidValue, line: 2, column: 3, mentions: ["`defaults.address`"])]
        ),
        BrokenInventory(
            name: "host name with a comma",
            yaml: "hosts:\n  'vm1,vm2':\n    address: 127.0.0.1\n    user: root\n",
            problems: [ExpectedProblem(code: .invalidValue, line: 2, column: 3, mentions: ["`vm1,vm2`"])]
        ),
    ]
}

@Suite struct BrokenInventoryTests {
    @Test(arguments: BrokenInventory.all)
    func problemIsReportedWithItsLocation(_ broken: BrokenInventory) throws {
        let errors = try loadErrors(broken.yaml, files: broken.files)
        try #require(
            errors.count == broken.problems.count,
            "expected \(broken.problems.count) problem(s), got:\n\(errors.map(\.description).joined(separator: "\n"))"
        )
        for (error, expected) in zip(errors, broken.problems) {
            #expect(error.code == expected.code, "\(error)")
            #expect(error.location.line == expected.line, "\(error)")
            if let column = expected.column {
                #expect(error.location.column == column, "\(error)")
            }
            #expect(error.location.file.hasSuffix("/inventory.yml"))
            #expect(
                error.description
                    == "\(error.location.file):\(error.location.line):\(error.location.column): \(error.message)"
            )
            for text in expected.mentions {
                #expect(error.message.contains(text), "\(error.message) should mention \(text)")
            }
            for text in broken.mustNotMention {
                #expect(!error.description.contains(text), "\(error.message) must not repeat the secret")
            }
        }
    }

    @Test func everyProblemInAFileIsReportedInFileOrder() throws {
        let yaml = """
            hots: {}
            defaults:
              user: root
              password: s3cr3t-inline
            hosts:
              vm1:
                adress: 127.0.0.1
                port: abc
              vm2:
                address: 127.0.0.2
                agent: maybe
                host_key_policy: accept_new
              vm1:
                address: 127.0.0.3
            """
        let errors = try loadErrors(yaml)
        let summary = errors.map { "\($0.location.line):\($0.location.column) \($0.code) \($0.keyPath)" }
        #expect(
            summary == [
                "1:1 unknownKey hots",
                "4:13 inlineSecret defaults.password",
                "6:3 missingKey hosts.vm1.address",
                "7:5 unknownKey hosts.vm1.adress",
                "8:11 wrongType hosts.vm1.port",
                "11:12 wrongType hosts.vm2.agent",
                "12:22 invalidValue hosts.vm2.host_key_policy",
                "13:3 duplicateKey hosts.vm1",
            ]
        )
        #expect(errors.allSatisfy { !$0.description.contains("s3cr3t") })
        #expect(errors.first { $0.keyPath == "hosts.vm2.host_key_policy" }?.message.contains("`accept-new`") == true)
    }

    @Test func hostsUnderAMisspelledKeyAreStillChecked() throws {
        let errors = try loadErrors("hots:\n  vm1:\n    address: 127.0.0.1\n    port: 0\n    user: root\n")
        #expect(errors.map(\.code) == [.unknownKey, .invalidValue])
        #expect(errors.last?.keyPath == "hots.vm1.port")
    }

    @Test func inventoryErrorsDescriptionHasOneLinePerProblem() throws {
        let errors = try loadErrors("hosts:\n  vm1:\n    port: abc\n")
        let description = try #require(InventoryErrors(errors)).description
        #expect(description.split(separator: "\n").count == 3)
        #expect(InventoryErrors([]) == nil)
    }
}

// MARK: - Selecting hosts

@Suite struct HostSelectionTests {
    static let inventory: Inventory = {
        let names = ["vm1", "vm2", "vm10", "web1", "web2", "db"]
        let hosts = names.enumerated().map { index, name in
            InventoryHost(
                name: name,
                address: "127.0.0.\(index + 1)",
                user: "root",
                knownHosts: "/dev/null",
                location: SourceLocation(file: "inventory.yml", line: index + 2, column: 3)
            )
        }
        return Inventory(path: "/tmp/inventory.yml", hosts: hosts)
    }()

    @Test(
        arguments: [
            (nil, ["vm1", "vm2", "vm10", "web1", "web2", "db"]),
            ("", ["vm1", "vm2", "vm10", "web1", "web2", "db"]),
            ("db", ["db"]),
            ("web2,vm1", ["vm1", "web2"]),
            ("vm*", ["vm1", "vm2", "vm10"]),
            ("vm?", ["vm1", "vm2"]),
            ("web?, db", ["web1", "web2", "db"]),
            ("*1*", ["vm1", "vm10", "web1"]),
            ("!db", ["vm1", "vm2", "vm10", "web1", "web2"]),
            ("vm*,!vm1?", ["vm1", "vm2"]),
            ("!vm*,!web*", ["db"]),
            ("vm1,vm1,vm*", ["vm1", "vm2", "vm10"]),
            ("!nothing-like-this", ["vm1", "vm2", "vm10", "web1", "web2", "db"]),
        ] as [(String?, [String])]
    )
    func limitSelectsHostsInFileOrder(limit: String?, expected: [String]) throws {
        #expect(try Self.inventory.select(limit: limit).map(\.name) == expected)
    }

    @Test func patternThatMatchesNothingIsNamedWithTheKnownHosts() {
        let error = #expect(throws: HostSelectionError.self) { try Self.inventory.select(limit: "vm1,wbe*") }
        #expect(error?.code == .unmatchedPattern)
        #expect(error?.pattern == "wbe*")
        #expect(
            error?.message
                == "--limit pattern `wbe*` matches no host; the inventory has vm1, vm2, vm10, web1, web2, db."
        )
    }

    @Test func exclusionsThatLeaveNothingAreRefused() {
        let error = #expect(throws: HostSelectionError.self) { try Self.inventory.select(limit: "db,!d*") }
        #expect(error?.code == .nothingSelected)
    }
}

// MARK: - Secrets

@Suite struct SecretReferenceTests {
    static let here = SourceLocation(file: "inventory.yml", line: 7, column: 15)

    @Test func environmentVariableIsRead() throws {
        let secret = SecretReference.environment("VM_KEY_PASS", location: Self.here)
        #expect(try secret.read(environment: ["VM_KEY_PASS": "p4ss\n"]) == "p4ss\n")
        #expect(secret.location == Self.here)
        #expect(secret.description == "env:VM_KEY_PASS")
    }

    @Test func processEnvironmentIsTheDefault() throws {
        let home = try #require(ProcessInfo.processInfo.environment["HOME"])
        #expect(try SecretReference.environment("HOME", location: Self.here).read() == home)
    }

    @Test func missingEnvironmentVariableIsNamed() {
        let secret = SecretReference.environment("OCTOPROV_NOT_SET", location: Self.here)
        let error = #expect(throws: SecretError.self) { try secret.read(environment: [:]) }
        #expect(error?.code == .environmentVariableNotSet)
        #expect(error?.message.contains("OCTOPROV_NOT_SET") == true)
        #expect(error?.location == Self.here)
    }

    @Test(
        arguments: [
            ("hunter2\n", "hunter2"),
            ("hunter2", "hunter2"),
            ("hunter2\r\n", "hunter2"),
            ("two\nlines\n\n", "two\nlines\n"),
            ("", ""),
        ]
    )
    func privateFileIsReadWithoutOneTrailingNewline(contents: String, expected: String) throws {
        try withTemporaryDirectory([FixtureFile(path: "pw", contents: contents, mode: 0o600)]) { directory in
            let secret = try SecretReference.file(directory + "/pw", location: Self.here).read()
            #expect(secret == expected)
        }
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660])
    func fileOpenToOthersIsRefused(mode: Int) throws {
        try withTemporaryDirectory([FixtureFile(path: "pw", contents: "hunter2\n", mode: mode)]) { directory in
            let path = directory + "/pw"
            let error = #expect(throws: SecretError.self) { try SecretReference.file(path, location: Self.here).read() }
            #expect(error?.code == .insecureFile)
            #expect(error?.message.contains("chmod 600 \(path)") == true)
            #expect(error?.description.contains("hunter2") == false)
        }
    }

    @Test func missingFileIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/absent.pw"
            let error = #expect(throws: SecretError.self) { try SecretReference.file(path, location: Self.here).read() }
            #expect(error?.code == .fileNotFound)
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func directoryIsRefused() throws {
        try withTemporaryDirectory { directory in
            let error = #expect(throws: SecretError.self) {
                try SecretReference.file(directory, location: Self.here).read()
            }
            #expect(error?.code == .insecureFile)
        }
    }

    @Test(arguments: ["password", "identity_passphrase"])
    func inlineSecretValueNeverAppearsInTheError(field: String) throws {
        let secret = "Pa55-w0rd-\(field)"
        let errors = try loadErrors(BrokenInventory.host + "    \(field): \(secret)\n")
        #expect(errors.map(\.code) == [.inlineSecret])
        let text = try #require(InventoryErrors(errors)).description
        #expect(!text.contains(secret))
        #expect(!text.contains("Pa55"))
    }
}

// MARK: - Nearest names

@Suite struct NearestNameTests {
    static let hostKeys = [
        "address", "port", "user", "identity", "identity_passphrase", "password", "agent", "known_hosts",
        "host_key_policy", "connect_timeout",
    ]

    @Test(
        arguments: [
            ("adress", "address"),
            ("prot", "port"),
            ("usr", "user"),
            ("knownhosts", "known_hosts"),
            ("known-hosts", "known_hosts"),
            ("hostkeypolicy", "host_key_policy"),
            ("connect_timout", "connect_timeout"),
            ("passwd", "password"),
            ("PORT", "port"),
            ("address", "address"),
        ]
    )
    func typoFindsTheIntendedKey(typed: String, expected: String) {
        #expect(nearestName(to: typed, in: Self.hostKeys) == expected)
    }

    @Test(arguments: ["x", "ssh", "playbooks", "timeout_seconds_total"])
    func unrelatedNamesFindNothing(typed: String) {
        #expect(nearestName(to: typed, in: Self.hostKeys) == nil)
    }

    @Test func topLevelTypo() {
        #expect(nearestName(to: "hots", in: ["defaults", "hosts", "groups", "instances", "vars"]) == "hosts")
        #expect(nearestName(to: "anything", in: []) == nil)
    }
}
