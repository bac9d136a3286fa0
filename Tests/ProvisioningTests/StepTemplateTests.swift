import Foundation
import Provisioning
import Testing
import Wire

// The step templates in Templates/ (one per step and platform, plus the shared T-SQL) against their
// contract in docs/steps.md: every variable they use is documented, every step that runs on a host has
// a template on every platform, hostile values stay literal in all three languages (checked with
// shellcheck and a bash lexer, tree-sitter-powershell, and sqlglot), and the standin scripts that need
// no stand-in run and answer with an OCTOPROV-RESULT line.

// MARK: - The repository's templates and docs

/// The repository's root folder.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The three platforms, as their template folders are named.
let stepPlatforms = ["windows", "linux-container", "standin"]

/// What docs/steps.md says: its variables, its secrets, the steps that run on a host, and the T-SQL files it
/// names.
struct StepContract {
    var variables: [String] = []
    var secrets: [String] = []
    var hostSteps: Set<String> = []
    var allSteps: Set<String> = []
    var sqlFiles: Set<String> = []

    /// The backticked names in a piece of Markdown.
    static func backticked(_ text: Substring) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            .map { String($0.element) }
    }

    /// The table rows (cells without the outer bars) of the `## title` section.
    static func rows(of markdown: String, section title: String) -> [[Substring]] {
        var inSection = false
        var rows: [[Substring]] = []
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                inSection = line == "## \(title)"
                continue
            }
            guard inSection, line.hasPrefix("|"), !line.hasPrefix("|--"), !line.hasPrefix("|---") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
            rows.append(Array(cells))
        }
        return rows
    }

    init(markdown: String) throws {
        for row in Self.rows(of: markdown, section: "Variables") where row.count >= 3 {
            variables += Self.backticked(row[0])
        }
        for row in Self.rows(of: markdown, section: "Secrets (stdin names)") where row.count >= 3 {
            secrets += Self.backticked(row[0])
        }
        let flows =
            Self.rows(of: markdown, section: "Flows")
            + Self.rows(of: markdown, section: "Upgrade and teardown flows")
        for row in flows where row.count >= 5 {
            let steps = Self.backticked(row[1]) + Self.backticked(row[2])
            allSteps.formUnion(steps)
            if row[3].contains("host") { hostSteps.formUnion(steps) }
            for name in Self.backticked(row[4]) + Self.backticked(row[3]) {
                if name.hasPrefix("<platform>/") {
                    let step = String(name.dropFirst("<platform>/".count).prefix { $0 != " " })
                    hostSteps.insert(step)
                    allSteps.insert(step)
                } else if name.hasPrefix("sql/") {
                    sqlFiles.insert(name)
                }
            }
        }
        try #require(!variables.isEmpty && !secrets.isEmpty && !hostSteps.isEmpty, "docs/steps.md lost its tables")
    }

    static func load() throws -> StepContract {
        try StepContract(markdown: String(contentsOfFile: repositoryRoot + "/docs/steps.md", encoding: .utf8))
    }
}

func loadStepTemplates() throws -> TemplateLibrary {
    try TemplateLibrary(directory: repositoryRoot + "/Templates")
}

/// The placeholders of a template file: each variable name with its filter (`nil` for a plain one).
func placeholders(_ library: TemplateLibrary, _ path: String) throws -> [(name: String, filter: String?)] {
    let text = try String(contentsOfFile: library.directory + "/" + path, encoding: .utf8)
    return text.components(separatedBy: "{{").dropFirst().map { piece in
        let inside = piece.components(separatedBy: "}}")[0].split(separator: "|")
        let name = inside[0].trimmingCharacters(in: .whitespaces)
        return (name, inside.count == 2 ? inside[1].trimmingCharacters(in: .whitespaces) : nil)
    }
}

/// The names any template uses with `| ident`: those values become bracketed identifiers, which cannot hold a
/// line break, so their hostile values have none.
func identVariables(_ library: TemplateLibrary) throws -> Set<String> {
    var names: Set<String> = []
    for path in library.templates.keys where path.hasPrefix("sql/") {
        for placeholder in try placeholders(library, path) where placeholder.filter == "ident" {
            names.insert(placeholder.name)
        }
    }
    return names
}

// MARK: - Hostile values

/// One hostile string: quotes of every kind, command substitutions, `]`, `;`, Unicode, SQL injection. Values with
/// a line break add `\r\nGO\n:!! id`, which sqlcmd would read as commands at the start of a line.
let hostileCore = "'\"$(id)`id`;rm -rf /]‘smart’ 日本語 '; DROP TABLE x; --"
let hostileLineBreaks = "\r\nGO\n:!! id"
/// Pieces of the hostile value that survive every language's quoting unchanged and appear in no template: each
/// occurrence in a rendered script must be inside a literal.
let hostileNeedles = ["$(id)", "`id`", "DROP TABLE x", ":!! id", "日本語", "‘smart’"]

/// Every documented variable with a hostile value that starts with its own name (so a literal can be traced to
/// its variable).
func hostileValues(_ contract: StepContract, identNames: Set<String>) -> [String: String] {
    var values: [String: String] = [:]
    for name in contract.variables {
        values[name] = name + ":" + hostileCore + (identNames.contains(name) ? "" : hostileLineBreaks)
    }
    return values
}

/// A rendered script, as the python checkers take it.
struct CheckedDocument: Encodable {
    var name: String
    var text: String
    var needles: [String]
}

/// Runs a python checker on several documents at once.
func runDocumentChecker<Output: Decodable>(
    _ script: String,
    _ documents: [CheckedDocument],
    as: Output.Type
) throws
    -> Output
{
    let input = String(decoding: try JSONEncoder().encode(documents), as: UTF8.self)
    return try runChecker(script, input: input, as: Output.self)
}

// MARK: - The contract

@Suite struct StepTemplateContractTests {
    @Test func templatesUseOnlyDocumentedVariables() throws {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let documented = Set(contract.variables)
        for (path, template) in library.templates.sorted(by: { $0.key < $1.key }) {
            let unknown = Set(template.variables).subtracting(documented)
            #expect(unknown.isEmpty, "\(path) uses variables docs/steps.md does not list: \(unknown.sorted())")
        }
        // Secrets never reach a template as variables: they come on stdin.
        for (path, template) in library.templates {
            #expect(Set(template.variables).isDisjoint(with: contract.secrets), "\(path) renders a secret")
        }
    }

    @Test func everyHostStepHasATemplateOnEveryPlatform() throws {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let extensions = ["windows": "ps1", "linux-container": "sh", "standin": "sh"]
        for step in contract.hostSteps.sorted() {
            for platform in stepPlatforms {
                let path = "\(platform)/\(step).\(extensions[platform] ?? "")"
                #expect(library.templates[path] != nil, "\(path) is missing")
            }
        }
        for path in library.templates.keys.sorted() where !path.hasPrefix("sql/") {
            let parts = path.split(separator: "/")
            let step = String(parts[1].split(separator: ".")[0])
            #expect(stepPlatforms.contains(String(parts[0])), "\(path) is in an unknown platform folder")
            #expect(contract.hostSteps.contains(step), "\(path) is no host step of docs/steps.md")
        }
        let templatesDoc = try String(contentsOfFile: repositoryRoot + "/docs/templates.md", encoding: .utf8)
        for file in contract.sqlFiles {
            #expect(library.templates[file] != nil, "docs/steps.md names \(file), which is missing")
        }
        for path in library.templates.keys where path.hasPrefix("sql/") {
            #expect(
                contract.sqlFiles.contains(path) || templatesDoc.contains("`\(path)`"),
                "\(path) is described in neither docs/steps.md nor docs/templates.md"
            )
        }
    }

    /// Shared code lives once, in a partial: every step script includes its language's common partial and its
    /// platform's partial, and no step template carries a copy of a shared block itself.
    @Test func sharedCodeIsIncludedFromPartials() throws {
        let library = try loadStepTemplates()
        let partials: [(platform: String, common: String, own: String)] = [
            ("standin", "_common/bash.sh", "standin/_platform.sh"),
            ("linux-container", "_common/bash.sh", "linux-container/_platform.sh"),
            ("windows", "_common/powershell.ps1", "windows/_platform.ps1"),
        ]
        for (platform, common, own) in partials {
            #expect(library.partials[common] != nil, "\(common) is missing")
            #expect(library.partials[own] != nil, "\(own) is missing")
            let steps = library.templates.keys.sorted().filter { $0.hasPrefix(platform + "/") }
            #expect(!steps.isEmpty)
            for path in steps {
                let text = try String(contentsOfFile: library.directory + "/" + path, encoding: .utf8)
                let lines = text.split(separator: "\n")
                #expect(lines.contains("{{> \(common) }}"), "\(path) does not include \(common)")
                #expect(lines.contains("{{> \(own) }}"), "\(path) does not include \(own)")
                #expect(!text.contains("# --- octoprov "), "\(path) carries a shared block instead of including it")
            }
        }
    }

    /// A script that falls off its end would exit 0 without a result: the last command must report one.
    @Test func everyScriptEndsWithAResultOrAFailure() throws {
        let library = try loadStepTemplates()
        for (path, template) in library.templates.sorted(by: { $0.key < $1.key }) where !path.hasPrefix("sql/") {
            // The script as a host gets it, partials included (every placeholder standing for a plain word).
            let text = try template.render(Dictionary(uniqueKeysWithValues: template.variables.map { ($0, "v") }))
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            if path.hasSuffix(".sh") {
                let last = try #require(lines.last { !$0.isEmpty && !$0.hasPrefix("#") })
                #expect(last.hasPrefix("finish ") || last.hasPrefix("fail "), "\(path) ends with `\(last)`")
                // The one script that only refuses: a Linux container has no Octopus.Migrator to export with.
                if path != "linux-container/migrator-export.sh" {
                    #expect(lines.contains { $0.hasPrefix("finish ") }, "\(path) never calls finish")
                }
                #expect(text.contains("printf 'OCTOPROV-RESULT %s}}\\n'"), "\(path) lacks the result line")
            } else {
                let catchLine = try #require(lines.lastIndex(of: "} catch {"), "\(path) has no closing catch")
                let last = lines[..<catchLine].last { !$0.isEmpty && !$0.hasPrefix("#") } ?? ""
                #expect(last.hasPrefix("Complete-Step ") || last.hasPrefix("Stop-Step "), "\(path) ends with `\(last)`")
                #expect(
                    text.contains("[Console]::Out.WriteLine('OCTOPROV-RESULT ' + "),
                    "\(path) lacks the result line"
                )
            }
        }
    }
}

// MARK: - Hostile values through the real parsers

@Suite struct StepTemplateHostileValueTests {
    /// Renders every template of a language with hostile values for every documented variable.
    func renderAll(_ fileExtension: String) throws -> (documents: [CheckedDocument], used: [String: [String]]) {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let values = hostileValues(contract, identNames: try identVariables(library))
        var documents: [CheckedDocument] = []
        var used: [String: [String]] = [:]
        for (path, template) in library.templates.sorted(by: { $0.key < $1.key }) where path.hasSuffix(fileExtension) {
            documents.append(CheckedDocument(name: path, text: try template.render(values), needles: hostileNeedles))
            used[path] = template.variables
        }
        try #require(!documents.isEmpty)
        return (documents, used)
    }

    struct BashReport: Decodable {
        var name: String
        var words: [String]
        var outside: [String]
        var error: String?
    }

    @Test func bashScriptsPassShellcheckAndKeepValuesLiteral() throws {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let values = hostileValues(contract, identNames: try identVariables(library))
        let (documents, used) = try renderAll(".sh")
        try withTemporaryDirectory(documents.map { FixtureFile(path: $0.name, contents: $0.text) }) { directory in
            // The exclusions of TemplateTests: they flag a literal's content (`$` or `\` in single quotes, a Unicode
            // quote) as a likely typo; in a rendered value that content is data, and keeping it literal is the point.
            let lint = try runTool(
                ["shellcheck", "--shell=bash", "--exclude=SC1003,SC1112,SC2016,SC2028"]
                    + documents.map { directory + "/" + $0.name }
            )
            #expect(lint.status != 127, "shellcheck is not on PATH; run `bash .ci/setup`")
            #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
        }
        let reports = try runDocumentChecker("check_step_bash.py", documents, as: [BashReport].self)
        for report in reports {
            #expect(report.error == nil, "\(report.name): \(report.error ?? "")")
            #expect(report.outside.isEmpty, "\(report.name) has \(report.outside) outside single quotes")
            for name in used[report.name] ?? [] {
                #expect(report.words.contains(values[name] ?? ""), "\(report.name): `\(name)` is not one literal")
            }
        }
    }

    struct PowerShellReport: Decodable {
        var name: String
        var errors: Int
        var literals: [String]
        var outside: [String]
    }

    @Test func powerShellScriptsParseAndKeepValuesLiteral() throws {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let values = hostileValues(contract, identNames: try identVariables(library))
        let (documents, used) = try renderAll(".ps1")
        let reports = try runDocumentChecker("check_step_powershell.py", documents, as: [PowerShellReport].self)
        #expect(reports.count == documents.count)
        for report in reports {
            #expect(report.errors == 0, "\(report.name) has \(report.errors) ERROR or MISSING nodes")
            #expect(report.outside.isEmpty, "\(report.name) has \(report.outside) outside verbatim strings")
            for name in used[report.name] ?? [] {
                #expect(report.literals.contains(values[name] ?? ""), "\(report.name): `\(name)` is not one literal")
            }
        }
    }

    struct SQLReport: Decodable {
        var name: String
        var statements: [String]
        var literals: [String]
        var identifiers: [String]
        var outside: [String]
        var lineStartsInLiteral: Int
        var error: String?

        enum CodingKeys: String, CodingKey {
            case name, statements, literals, identifiers, outside, error
            case lineStartsInLiteral = "line_starts_in_literal"
        }
    }

    /// What each T-SQL file must parse into, statement by statement (`GO` between batches).
    static let expectedStatements: [String: [String]] = {
        let flags = [
            "server_nodes", "targets", "workers", "triggers", "subscriptions", "installation_id", "queued_tasks",
            "server_uri_flag", "extensions",
        ]
        // The quarantine record's options and production's Installation ID and Server URI.
        let records = Array(repeating: "Select from Configuration", count: 13)
        return [
            "sql/database-exists.sql": ["Set NOCOUNT ON", "Select from sys.databases"],
            "sql/restore-filelist.sql": [
                "Set NOCOUNT ON", "Declare @backup_file", "Restore FILELISTONLY FROM DISK = @backup_file",
            ],
            "sql/restore.sql": [
                "Set NOCOUNT ON", "Declare @backup_file",
                "Restore DATABASE [] FROM DISK = @backup_file WITH MOVE @data_logical TO @data_file, "
                    + "MOVE @log_logical TO @log_file, RECOVERY, STATS = 10",
                "GO", "Use []", "GO", "Set NOCOUNT ON", "Set XACT_ABORT ON", "Declare @record", "Set @record",
                "Set @record", "Set @record", "Begin", "Delete Configuration", "Insert Configuration", "Commit",
            ],
            "sql/quarantine.sql": ["Use []", "GO", "Set NOCOUNT ON", "Set XACT_ABORT ON"]
                + flags.map { "Declare @\($0)" }
                + [
                    "Declare @server_uri", "Declare @backup_sha256", "Declare @new_installation_id", "Declare @config",
                    "Declare @record", "Declare @production_installation_id", "Declare @production_server_uri",
                    "Begin", "Delete OctopusServerNode",
                    "If Exists(sys.tables) -> Delete OctopusServerNodeStatus", "Update Machine",
                    "If Exists(sys.tables) -> Update Worker", "Update ProjectTrigger", "Update Subscription",
                    "Update ServerTask", "Delete ExtensionConfiguration", "Select @ from Configuration",
                    "Set @production_installation_id", "Set @config", "Update Configuration",
                    "Select @ from Configuration", "If Exists(Configuration) -> Select @ from Configuration",
                    "If Exists(Configuration) -> Select @ from Configuration", "Update Configuration",
                ]
                + Array(repeating: "Set @record", count: 13)
                + ["Delete Configuration", "Insert Configuration", "Commit"],
            "sql/database-version.sql": [
                "Use []", "GO", "Set NOCOUNT ON", "Select from OctopusServerInstallationHistory",
                "Select from Configuration", "Select from OctopusServerNode",
            ],
            "sql/database-size.sql": ["Use []", "GO", "Set NOCOUNT ON", "Select from sys.database_files"],
            "sql/backup-header.sql": [
                "Set NOCOUNT ON", "Declare @backup_file", "Restore HEADERONLY FROM DISK = @backup_file",
            ],
            "sql/backup-database.sql": [
                "Use []", "GO", "Set NOCOUNT ON", "Declare @backup_file", "Declare @backup_name",
                "Declare @description",
                "Select @ from Configuration",
                "Backup DATABASE [] TO DISK = @backup_file WITH COPY_ONLY, FORMAT, INIT, NAME = @backup_name, "
                    + "DESCRIPTION = @description, STATS = 10",
            ],
            "sql/drop-database.sql": ["Set NOCOUNT ON", "Use []", "If Exists(sys.databases) -> Drop"],
            "sql/rows-and-spaces.sql": ["Use []", "GO", "Set NOCOUNT ON"]
                + ["Space", "Project", "Machine", "Worker", "ProjectTrigger", "Subscription"].map {
                    "If Exists(sys.tables) -> Select from \($0)"
                },
            "sql/verify-quarantine.sql": ["Use []", "GO", "Set NOCOUNT ON"] + records
                + [
                    "Select from OctopusServerInstallationHistory", "Select from Configuration",
                    "Select from Configuration", "Select from OctopusServerNode",
                    "If Exists(sys.tables) -> Select from Space", "Select from Project",
                    "If Exists(sys.tables) -> Select from OctopusServerNodeStatus", "Select from Machine",
                    "Select from Machine", "If Exists(sys.tables) -> Select from Worker",
                    "If Exists(sys.tables) -> Select from Worker", "Select from ProjectTrigger",
                    "Select from ProjectTrigger", "Select from Subscription", "Select from Subscription",
                    "Select from ServerTask", "Select from ExtensionConfiguration",
                ],
        ]
    }()

    @Test func sqlParsesIntoTheIntendedStatementsWithValuesLiteral() throws {
        let contract = try StepContract.load()
        let library = try loadStepTemplates()
        let identNames = try identVariables(library)
        let values = hostileValues(contract, identNames: identNames)
        let (documents, used) = try renderAll(".sql")
        let reports = try runDocumentChecker("check_step_tsql.py", documents, as: [SQLReport].self)
        #expect(
            Set(reports.map(\.name)) == Set(Self.expectedStatements.keys),
            "a T-SQL file has no expected statements"
        )
        for report in reports {
            #expect(report.error == nil, "\(report.name): \(report.error ?? "")")
            #expect(report.statements == Self.expectedStatements[report.name], "\(report.name): \(report.statements)")
            #expect(report.outside.isEmpty, "\(report.name) has \(report.outside) outside literals and identifiers")
            // sqlcmd reads GO, :r, :!! and !! at the start of a line even inside a string: no line may start in one.
            #expect(report.lineStartsInLiteral == 0, "\(report.name) has a line starting inside a literal")
            #expect(!(used[report.name] ?? []).isEmpty)
            for placeholder in try placeholders(library, report.name) {
                let value = values[placeholder.name] ?? ""
                let found = placeholder.filter == "ident" ? report.identifiers : report.literals
                #expect(found.contains(value), "\(report.name): `\(placeholder.name)` is not one literal or identifier")
            }
        }
    }

    /// The checkers must find a value outside a literal, or the tests above would prove nothing.
    @Test func checkersCatchAValueOutsideALiteral() throws {
        let bash = try runDocumentChecker(
            "check_step_bash.py",
            [CheckedDocument(name: "x.sh", text: "echo \"a $(id)\"\necho 'b $(id)'\n", needles: ["$(id)"])],
            as: [BashReport].self
        )
        #expect(bash.first?.outside == ["$(id)"])
        #expect(bash.first?.words == ["b $(id)"])
        let powerShell = try runDocumentChecker(
            "check_step_powershell.py",
            [CheckedDocument(name: "x.ps1", text: "$a = \"a $(id)\"\n$b = 'b $(id)'\n", needles: ["$(id)"])],
            as: [PowerShellReport].self
        )
        #expect(powerShell.first?.outside == ["$(id)"])
        let sql = try runDocumentChecker(
            "check_step_tsql.py",
            [
                CheckedDocument(
                    name: "x.sql",
                    text: "SELECT N'DROP TABLE x'; -- DROP TABLE x\n",
                    needles: ["DROP TABLE x"]
                )
            ],
            as: [SQLReport].self
        )
        #expect(sql.first?.outside == ["DROP TABLE x"])
        #expect(sql.first?.statements == ["Select"])
    }
}

// MARK: - Running the standin scripts that need no stand-in

/// Runs `script` with `bash -c` in `directory`'s files: standard input from `stdin` there (a script that stops
/// before reading it must not break a pipe), standard output and error into files, so no pipe can fill up.
func runScript(_ script: String, name: String, in directory: String, stdin: String) throws -> ToolResult {
    let paths = (stdin: directory + "/stdin", stdout: directory + "/stdout", stderr: directory + "/stderr")
    try stdin.write(toFile: paths.stdin, atomically: true, encoding: .utf8)
    for path in [paths.stdout, paths.stderr] {
        try #require(FileManager.default.createFile(atPath: path, contents: nil))
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["bash", "-c", script, name]
    process.standardInput = FileHandle(forReadingAtPath: paths.stdin)
    process.standardOutput = FileHandle(forWritingAtPath: paths.stdout)
    process.standardError = FileHandle(forWritingAtPath: paths.stderr)
    try process.run()
    process.waitUntilExit()
    return ToolResult(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: paths.stdout, encoding: .utf8),
        stderr: try String(contentsOfFile: paths.stderr, encoding: .utf8)
    )
}

/// The result line of a step script.
struct StepResult: Decodable {
    var changed: Bool
    var message: String
    var facts: [String: String]
}

/// What a step script did: its exit status, its parsed result line (if the last stdout line is one) and stderr.
struct StepRun {
    var status: Int32
    var result: StepResult?
    var stdout: String
    var stderr: String
}

@Suite struct StepTemplateRunTests {
    /// A temporary folder whose path holds quotes, command substitutions, a newline and Unicode, with a marker
    /// path those substitutions would create if a value were ever run as code.
    struct HostileFolder {
        var root: String
        var marker: String
    }

    func withHostileFolder(_ body: (HostileFolder) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let marker = directory + "/pwned"
            let root = directory + "/it's \"$(touch \(marker))\" `touch \(marker)` ; 日本語\nfolder"
            try FileManager.default.createDirectory(atPath: root + "/work", withIntermediateDirectories: true)
            try body(HostileFolder(root: root, marker: marker))
            #expect(!FileManager.default.fileExists(atPath: marker), "a value ran as code")
        }
    }

    /// Every documented variable with a value that is hostile but valid for a run under `root`.
    func runValues(_ root: String, contract: StepContract) -> [String: String] {
        var values: [String: String] = [:]
        for name in contract.variables { values[name] = "" }
        let paths = [
            "work_dir": "/work", "install_dir": "/opt", "sql_data_root": "/sql-data", "home_dir": "/home",
            "data_dir": "/sql", "config_path": "/home/OctopusServer.config.json", "folders_packages": "/home/Packages",
            "folders_artifacts": "/home/Artifacts", "folders_task_logs": "/home/TaskLogs",
            "folders_event_exports": "/home/EventExports", "folders_imports": "/home/Imports",
            "backup_file": "/work/prod.bak", "export_directory": "/work/export",
        ]
        for (name, path) in paths { values[name] = root + path }
        values["platform"] = "standin"
        values["mode"] = "clone"
        values["host_name"] = "vm'1 $(id)"
        values["instance_name"] = "Octo'pus $(id) `id`"
        values["node_name"] = "node \"; rm -rf /"
        values["version"] = "2023.3.13026"
        values["sql_server"] = "localhost"
        values["database"] = "Octopus]Clone'; DROP TABLE x; --"
        values["container_name"] = "octopus-clone"
        values["image"] = "octopusdeploy/octopusdeploy:2023.3.13026"
        values["web_listen_prefix"] = "http://localhost:18080"
        values["web_port"] = "18080"
        values["comms_port"] = "10943"
        values["server_uri"] = "http://localhost:18080"
        values["backup_sha256"] = String(repeating: "ab", count: 32)
        values["package_sha256"] = String(repeating: "0", count: 64)
        for flag in contract.variables where flag.hasPrefix("quarantine_") { values[flag] = "true" }
        return values
    }

    /// Renders `platform/step` with `values` and runs it with bash, `stdin` as its standard input.
    func run(_ platform: String, _ step: String, _ values: [String: String], stdin: String = "") throws -> StepRun {
        let script = try loadStepTemplates().template(platform: platform, step: step).render(values)
        let output = try withTemporaryDirectory { directory in
            try runScript(script, name: step, in: directory, stdin: stdin)
        }
        let lastLine = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        var result: StepResult?
        if lastLine.hasPrefix("OCTOPROV-RESULT ") {
            result = try JSONDecoder().decode(StepResult.self, from: Data(lastLine.dropFirst(16).utf8))
        }
        return StepRun(status: output.status, result: result, stdout: output.stdout, stderr: output.stderr)
    }

    /// Builds a package of the stand-in's shape (`octopus-standin-<version>/` with VERSION and bin/ links) whose
    /// `octopus-standin` only answers `create-sql-server` and sqlcmd's connection check, which is all the install
    /// step calls; returns its path and SHA-256.
    func buildPackage(in folder: String, version: String) throws -> (path: String, sha256: String) {
        let top = folder + "/package/octopus-standin-\(version)"
        try FileManager.default.createDirectory(atPath: top + "/bin", withIntermediateDirectories: true)
        try "\(version)\n".write(toFile: top + "/VERSION", atomically: true, encoding: .utf8)
        let program = """
            #!/bin/sh
            # The install step's view of the stand-in: its SQL Server folder under $OCTOPUS_STANDIN_DATA.
            case "$(basename "$0")" in
            sqlcmd) [ "$1" = -S ] && [ -d "$OCTOPUS_STANDIN_DATA/$2" ]; exit $? ;;
            esac
            if [ "$1" = create-sql-server ]; then mkdir -p "$OCTOPUS_STANDIN_DATA/$2"; exit $?; fi
            echo "not part of this package: $1" >&2
            exit 2

            """
        try program.write(toFile: top + "/bin/octopus-standin", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: top + "/bin/octopus-standin")
        for link in ["Octopus.Server", "sqlcmd"] {
            try FileManager.default.createSymbolicLink(
                atPath: top + "/bin/" + link,
                withDestinationPath: "octopus-standin"
            )
        }
        let path = folder + "/work/octopus-standin-\(version).tar.gz"
        let tar = try runTool(["tar", "-czf", path, "-C", folder + "/package", "octopus-standin-\(version)"])
        try #require(tar.status == 0, "\(tar.stderr)")
        // From stdin: sha256sum escapes a file name with a line break in its output line.
        let sum = try runTool(["bash", "-c", "sha256sum <\"$1\"", "sha256", path])
        return (path, String(sum.stdout.prefix(64)))
    }

    @Test(arguments: ["standin", "linux-container"])
    func preflightReportsFactsWithHostilePaths(_ platform: String) throws {
        let contract = try StepContract.load()
        try withHostileFolder { folder in
            let run = try run(platform, "preflight", runValues(folder.root, contract: contract))
            #expect(run.status == 0, "\(run.stderr)")
            let result = try #require(run.result, "no result line in:\n\(run.stdout)")
            #expect(result.changed == false)
            #expect(result.facts["installed_version"] == "")
            #expect(result.facts["instance_exists"] == "false")
            #expect(Int(result.facts["free_bytes_work_dir"] ?? "") != nil, "\(result.facts)")
            #expect(Int(result.facts["free_bytes_home_dir"] ?? "") != nil, "\(result.facts)")
            #expect(result.facts["os"]?.isEmpty == false)
        }
    }

    @Test func standinInstallChecksThePackageAndIsIdempotent() throws {
        let contract = try StepContract.load()
        try withHostileFolder { folder in
            var values = runValues(folder.root, contract: contract)
            let package = try buildPackage(in: folder.root, version: "2023.3.13026")
            values["package_file"] = package.path

            values["package_sha256"] = String(repeating: "0", count: 64)
            let refused = try run("standin", "install", values)
            #expect(refused.status == 1)
            #expect(refused.result == nil)
            #expect(refused.stderr.hasSuffix("it is not installed.\n"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder.root + "/opt/current"))

            values["package_sha256"] = package.sha256.uppercased()
            let first = try run("standin", "install", values)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.result?.changed == true, "\(first.stdout)")
            #expect(first.result?.facts["installed_version"] == "2023.3.13026")
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: folder.root + "/opt/current")
            #expect(link == "2023.3.13026")
            #expect(FileManager.default.fileExists(atPath: folder.root + "/sql-data/localhost"))

            let second = try run("standin", "install", values)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.result?.changed == false, "\(second.stdout)")

            let preflight = try run("standin", "preflight", values)
            #expect(preflight.result?.facts["installed_version"] == "2023.3.13026")
            #expect(preflight.result?.facts["version_installed"] == "true")
            #expect(preflight.result?.facts["sql_server_exists"] == "true")
        }
    }

    /// Without the stand-in, every other step stops before acting: exit status 1, one sentence on stderr, no result.
    @Test(arguments: [
        "restore", "quarantine", "create-instance", "create-database", "connect-database", "configure", "set-paths",
        "admin", "start", "verify", "migrator-import",
    ])
    func standinStepsStopWithOneSentenceWhenNothingIsInstalled(_ step: String) throws {
        let contract = try StepContract.load()
        try withHostileFolder { folder in
            let secrets = "master_key=" + Data("a key".utf8).base64EncodedString() + "\n"
            let run = try run("standin", step, runValues(folder.root, contract: contract), stdin: secrets)
            #expect(run.status == 1)
            #expect(run.result == nil, "\(run.stdout)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(run.stderr)")
            #expect(lines.first?.hasSuffix(".") == true, "\(run.stderr)")
            #expect(!run.stderr.contains("a key"))
        }
    }

    @Test func verifyHasNothingToCheckForATestInstance() throws {
        let contract = try StepContract.load()
        try withHostileFolder { folder in
            var values = runValues(folder.root, contract: contract)
            values["mode"] = "test-instance"
            let run = try run("standin", "verify", values)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.result?.changed == false)
            #expect(run.result?.facts == ["mode": "test-instance"])
        }
    }

    /// The result line is JSON whatever a fact holds: every control character, quotes and backslashes.
    @Test func resultLinesEscapeEveryControlCharacter() throws {
        let contract = try StepContract.load()
        try withHostileFolder { folder in
            var values = runValues(folder.root, contract: contract)
            let control = (1..<32).map { String(UnicodeScalar(UInt8($0))) }.joined()
            values["install_dir"] = folder.root + "/opt " + control + "\"\\ \u{7F}é"
            let package = try buildPackage(in: folder.root, version: "2023.3.13026")
            values["package_file"] = package.path
            values["package_sha256"] = package.sha256
            let run = try run("standin", "install", values)
            #expect(run.status == 0, "\(run.stderr)")
            let result = try #require(run.result, "\(run.stdout)")
            #expect(result.facts["install_dir"] == values["install_dir"])
        }
    }
}
