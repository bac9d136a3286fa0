import Foundation
import LoopbackVMs
import Provisioning
import TestHelpers
import Testing

// MARK: - Running the checkers

/// What a finished process wrote and how it ended.
struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `arguments` through `/usr/bin/env` (so tools are found on `PATH`) with `input` on stdin.
func runTool(_ arguments: [String], input: String = "") throws -> ToolResult {
    let run = try TestProcess.run("/usr/bin/env", arguments, input: Data(input.utf8))
    return ToolResult(status: run.status, stdout: run.stdout, stderr: run.stderr)
}

/// The message for a checker that could not run: the tests fail, never skip, when the tools are missing.
let setupHint = "run `bash .ci/setup` to install python3 with sqlglot, tree-sitter and tree-sitter-powershell"

/// Runs `Support/<script>` with python3, `input` on stdin, and decodes its JSON output.
func runChecker<Output: Decodable>(_ script: String, input: String, as: Output.Type) throws -> Output {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/\(script)")
        .path
    let result = try runTool(["python3", path], input: input)
    try #require(result.status != 127, "python3 is not on PATH; \(setupHint)")
    try #require(result.status != 3, "\(script) is missing a module (\(result.stdout)); \(setupHint)")
    try #require(
        result.status == 0,
        "\(script) failed (exit \(result.status)) on:\n\(input)\n\(result.stdout)\(result.stderr)"
    )
    return try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
}

// MARK: - Hostile values

/// Values that break naive quoting in at least one of the three languages.
let hostileValues: [String] = [
    "'",
    "\"",
    "$(id)",
    "`id`",
    ";rm -rf /",
    "line one\nline two",
    "]",
    "'; DROP TABLE x; --",
    "‘smart’",
    "日本語",
    "",
    "\\'\\",
    "it's ‚low‛ and ’right’",
    "a\r\nGO\n:!! id\n",
    "${HOME} %PATH% @(1) $env:PATH",
    "e\u{301}'\u{301}",
]

@Suite struct TemplateQuotingTests {
    struct QuoteCase: Sendable, CustomStringConvertible {
        var language: TemplateLanguage
        var value: String
        var literal: String
        var description: String { "\(language) \(value.debugDescription)" }
    }

    static let cases: [QuoteCase] = [
        QuoteCase(language: .bash, value: "plain", literal: "'plain'"),
        QuoteCase(language: .bash, value: "", literal: "''"),
        QuoteCase(language: .bash, value: "it's", literal: #"'it'\''s'"#),
        QuoteCase(language: .bash, value: "$(id)\n`x`", literal: "'$(id)\n`x`'"),
        QuoteCase(language: .powerShell, value: "it's", literal: "'it''s'"),
        QuoteCase(language: .powerShell, value: "‘a’ ‚b‛", literal: "'‘‘a’’ ‚‚b‛‛'"),
        QuoteCase(language: .powerShell, value: "$env:X `n \"", literal: "'$env:X `n \"'"),
        QuoteCase(language: .tsql, value: "it's", literal: "N'it''s'"),
        QuoteCase(language: .tsql, value: "", literal: "N''"),
        QuoteCase(language: .tsql, value: "a\nb", literal: "(N'a' + NCHAR(10) + N'b')"),
        QuoteCase(language: .tsql, value: "\r\n", literal: "(NCHAR(13) + NCHAR(10))"),
        QuoteCase(language: .tsql, value: "$(x) ]", literal: "N'$(x) ]'"),
    ]

    @Test(arguments: cases)
    func quotes(_ testCase: QuoteCase) {
        #expect(testCase.language.quote(testCase.value) == testCase.literal)
    }

    @Test func bracketsIdentifiers() {
        #expect(TemplateLanguage.tsqlIdentifier("Octopus") == "[Octopus]")
        #expect(TemplateLanguage.tsqlIdentifier("a]b[c") == "[a]]b[c]")
    }

    @Test func languageFromExtension() {
        #expect(TemplateLanguage(fileExtension: "sh") == .bash)
        #expect(TemplateLanguage(fileExtension: "PS1") == .powerShell)
        #expect(TemplateLanguage(fileExtension: "sql") == .tsql)
        #expect(TemplateLanguage(fileExtension: "bat") == nil)
    }
}

@Suite struct TemplateRenderingTests {
    @Test func rendersFiltersAndSpacing() throws {
        let sql = try TemplateRenderer.render(
            "USE {{db|ident}};\nSELECT TOP ({{  count | raw  }}) {{ name }} FROM [Project]; -- }} stays text",
            file: "sql/x.sql",
            values: ["db": "Octopus]Clone", "count": "10", "name": "Bob's"]
        )
        #expect(sql == "USE [Octopus]]Clone];\nSELECT TOP (10) N'Bob''s' FROM [Project]; -- }} stays text")
        let template = Template(text: "{{ b }} {{ a }} {{ b | raw }}", file: "x.sh", language: .bash)
        #expect(template.variables == ["a", "b"])
        #expect(template.syntaxErrors.isEmpty)
    }

    /// A template, its values, and the problems expected: code, `line:column`, variable, and a piece of the
    /// message.
    struct ErrorCase: Sendable, CustomStringConvertible {
        var name: String
        var file = "windows/install.ps1"
        var template: String
        var values: [String: String] = [:]
        var expected: [(code: TemplateError.Code, at: String, variable: String, says: String)]
        var description: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "missing variable with a suggestion",
            template: "$x = 1\n  Write-Output {{ instance_nme }}\n",
            values: ["instance_name": "OctopusServer", "port": "10943"],
            expected: [(.missingVariable, "2:16", "instance_nme", "did you mean `instance_name`?")]
        ),
        ErrorCase(
            name: "missing variable without a suggestion",
            template: "{{ masterKeyFile }}",
            values: ["port": "10943"],
            expected: [(.missingVariable, "1:1", "masterKeyFile", "`masterKeyFile` has no value.")]
        ),
        ErrorCase(
            name: "unknown filter",
            template: "x {{ port | rwa }}",
            values: ["port": "1"],
            expected: [(.unknownFilter, "1:3", "port", "Unknown filter `rwa`")]
        ),
        ErrorCase(
            name: "ident outside T-SQL",
            file: "standin/restore.sh",
            template: "{{ db | ident }}",
            values: ["db": "x"],
            expected: [(.unknownFilter, "1:1", "db", "in a bash template")]
        ),
        ErrorCase(
            name: "unclosed braces",
            template: "a\nb {{ name \nc }}",
            values: ["name": "x"],
            expected: [(.unbalancedBraces, "2:3", "", "not closed")]
        ),
        ErrorCase(
            name: "braces opened twice",
            template: "{{ a {{ b }}",
            values: ["a": "x", "b": "y"],
            expected: [(.unbalancedBraces, "1:1", "", "not closed")]
        ),
        ErrorCase(
            name: "empty placeholder and bad names",
            template: "{{ }} {{ 1x }} {{ a | raw | raw }}",
            values: ["a": "1"],
            expected: [
                (.invalidPlaceholder, "1:1", "", "names no variable"),
                (.invalidPlaceholder, "1:7", "1x", "not a valid variable name"),
                (.invalidPlaceholder, "1:16", "a", "more than one filter"),
            ]
        ),
        ErrorCase(
            name: "placeholders written inside quotes or brackets",
            file: "sql/x.sql",
            template: "SELECT N'{{ a }}', \"{{ b }}\", [{{ c | ident }}], `{{ d }}`, N'x' + {{ e }}",
            values: ["a": "1", "b": "2", "c": "3", "d": "4", "e": "5"],
            expected: [
                (.invalidPlaceholder, "1:10", "a", "touches a `'`"),
                (.invalidPlaceholder, "1:21", "b", "touches a `\"`"),
                (.invalidPlaceholder, "1:32", "c", "touches a `[`"),
                (.invalidPlaceholder, "1:51", "d", "touches a backtick"),
            ]
        ),
        ErrorCase(
            name: "a bash placeholder inside double quotes",
            file: "standin/start.sh",
            template: "echo \"{{ v }}\"",
            values: ["v": "$(id)"],
            expected: [(.invalidPlaceholder, "1:7", "v", "touches a `\"`")]
        ),
        ErrorCase(
            name: "NUL and unsafe raw and ident values",
            file: "sql/x.sql",
            template: "{{ a }} {{ n | raw }} {{ t | ident }}",
            values: ["a": "x\0y", "n": "1; DROP", "t": ""],
            expected: [
                (.invalidValue, "1:1", "a", "NUL"),
                (.invalidValue, "1:9", "n", "`raw`"),
                (.invalidValue, "1:23", "t", "`ident`"),
            ]
        ),
        ErrorCase(
            name: "every problem at once",
            template: "{{ a | nope }}\n日本 {{ missing }}\n{{ open\n{{ b }}",
            values: ["b": "ok", "c": "unused"],
            expected: [
                (.unknownFilter, "1:1", "a", "`nope`"),
                (.missingVariable, "2:4", "missing", "`missing`"),
                (.unbalancedBraces, "3:1", "", "not closed"),
            ]
        ),
    ]

    @Test(arguments: errorCases)
    func reportsProblems(_ testCase: ErrorCase) {
        do {
            let output = try TemplateRenderer.render(testCase.template, file: testCase.file, values: testCase.values)
            Issue.record("rendered without error: \(output)")
        } catch {
            #expect(error.errors.map(\.code) == testCase.expected.map(\.code), "\(error)")
            for (actual, expected) in zip(error.errors, testCase.expected) {
                #expect(actual.location.file == testCase.file)
                #expect("\(actual.location.line):\(actual.location.column)" == expected.at, "\(actual)")
                #expect(actual.variable == expected.variable)
                #expect(actual.message.contains(expected.says), "\(actual)")
                #expect(actual.description.hasPrefix("\(testCase.file):\(expected.at): "))
                #expect(!actual.message.contains("\n"))
            }
        }
    }

    @Test func valuesNeverAppearInMessages() {
        do {
            _ = try TemplateRenderer.render("{{ secret | raw }}", file: "x.sh", values: ["secret": "hunter2 pass"])
            Issue.record("rendered an unsafe raw value")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test(arguments: ["a\nb", "a\rb", "tab\there", "\u{7F}"])
    func identRefusesControlCharacters(_ value: String) {
        #expect {
            _ = try TemplateRenderer.render("USE {{ db | ident }}", file: "x.sql", values: ["db": value])
        } throws: { error in
            (error as? TemplateErrors)?.errors.map(\.code) == [.invalidValue]
        }
    }

    @Test func refusesUnknownLanguage() {
        #expect {
            _ = try TemplateRenderer.render("x", file: "x.bat", values: [:])
        } throws: { error in
            (error as? TemplateErrors)?.errors.map(\.code) == [.unknownLanguage]
        }
    }
}

// MARK: - Hostile values through the real parsers

@Suite struct TemplateHostileValueTests {
    @Test(arguments: hostileValues)
    func bashKeepsValueLiteral(_ value: String) throws {
        let script = try TemplateRenderer.render("echo {{ v }}\n", file: "check.sh", values: ["v": value])
        let run = try runTool(["bash", "-c", script])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == value + "\n")
        // These four flag a literal's content as a likely typo (`$` or `\` in single quotes, a Unicode quote):
        // in a rendered value that content is data, and keeping it literal is the point.
        let lint = try runTool(
            ["shellcheck", "--shell=bash", "--exclude=SC1003,SC1112,SC2016,SC2028", "-"],
            input: script
        )
        #expect(lint.status != 127, "shellcheck is not on PATH; run `bash .ci/setup`")
        #expect(lint.status == 0, "\(script)\n\(lint.stdout)\(lint.stderr)")
    }

    struct SQLReport: Decodable {
        struct Statement: Decodable, Equatable {
            struct Column: Decodable, Equatable {
                var alias: String?
                var value: String?
            }
            struct Assignment: Decodable, Equatable {
                var column: String
                var value: String?
            }
            var type: String
            var columns: [Column]?
            var table: String?
            var set: [Assignment]?
        }
        var statements: [Statement]
    }

    @Test(arguments: hostileValues)
    func tsqlKeepsValueLiteral(_ value: String) throws {
        // `ident` refuses line breaks (see `identRefusesControlCharacters`).
        let table = "Pro]ject " + value.filter { !$0.isNewline }
        let sql = try TemplateRenderer.render(
            "SELECT {{ v }} AS [x]; UPDATE {{ t | ident }} SET Name = {{ v }}",
            file: "sql/check.sql",
            values: ["v": value, "t": table]
        )
        let report = try runChecker("check_tsql.py", input: sql, as: SQLReport.self)
        #expect(
            report.statements == [
                .init(type: "Select", columns: [.init(alias: "x", value: value)]),
                .init(type: "Update", table: table, set: [.init(column: "Name", value: value)]),
            ],
            "\(sql)"
        )
        // No line of the script starts inside a value, so sqlcmd never sees `GO` or `:!!` from one.
        #expect(sql.split(separator: "\n", omittingEmptySubsequences: false).count == 1)
    }

    struct PowerShellReport: Decodable {
        struct StringLiteral: Decodable, Equatable {
            var text: String
            var value: String?
        }
        var errors: Int
        var strings: [StringLiteral]
    }

    @Test(arguments: hostileValues)
    func powerShellKeepsValueLiteral(_ value: String) throws {
        let script = try TemplateRenderer.render(
            "$name = {{ v }}\nWrite-Output {{ v }}\n",
            file: "windows/check.ps1",
            values: ["v": value]
        )
        let report = try runChecker("check_powershell.py", input: script, as: PowerShellReport.self)
        #expect(report.errors == 0, "\(script)")
        let literal = TemplateLanguage.powerShell.quote(value)
        #expect(
            report.strings == [.init(text: literal, value: value), .init(text: literal, value: value)],
            "\(script)"
        )
    }
}

// MARK: - Library

@Suite struct TemplateLibraryTests {
    @Test func loadsPlatformsAndSQL() throws {
        let files = [
            FixtureFile(path: "README.md", contents: "not a template {{"),
            FixtureFile(path: "windows/install.ps1", contents: "msiexec /i {{ msi }} /quiet\n"),
            FixtureFile(path: "standin/install.sh", contents: "install {{ package }}\n"),
            FixtureFile(path: "sql/quarantine.sql", contents: "UPDATE [Machine] SET IsDisabled = 1;\n"),
        ]
        try withTemporaryDirectory(files) { directory in
            let library = try TemplateLibrary(directory: directory)
            #expect(
                library.templates.keys.sorted() == ["sql/quarantine.sql", "standin/install.sh", "windows/install.ps1"]
            )
            let install = try library.template(platform: "windows", step: "install")
            #expect(install.language == .powerShell)
            #expect(install.file == directory + "/windows/install.ps1")
            #expect(try install.render(["msi": "C:\\Octopus x.msi"]) == "msiexec /i 'C:\\Octopus x.msi' /quiet\n")
            #expect(try library.sqlTemplate(named: "quarantine").language == .tsql)
            #expect {
                _ = try library.template(platform: "windows", step: "instal")
            } throws: { error in
                let errors = (error as? TemplateErrors)?.errors ?? []
                return errors.map(\.code) == [.templateNotFound]
                    && errors[0].message.contains("did you mean `install`?")
            }
            #expect {
                _ = try library.sqlTemplate(named: "quarantin")
            } throws: { error in
                (error as? TemplateErrors)?.errors.first?.message.contains("did you mean `quarantine`?") == true
            }
        }
    }

    @Test func reportsEveryFileProblemAtOnce() throws {
        let files = [
            FixtureFile(path: "windows/install.ps1", contents: "ok {{ a }}\nbad {{ b | nope }}\n"),
            FixtureFile(path: "windows/notes.txt", contents: "x"),
            FixtureFile(path: "sql/restore.sh", contents: "x"),
            FixtureFile(path: "standin/deep/x.sh", contents: "x"),
            FixtureFile(path: "standin/start.sh", contents: "start {{ name\n"),
        ]
        _ = try withTemporaryDirectory(files) { directory in
            #expect {
                _ = try TemplateLibrary(directory: directory)
            } throws: { error in
                let errors = (error as? TemplateErrors)?.errors ?? []
                let found = errors.map { "\($0.code) \($0.location)" }
                let expected = [
                    "unknownLanguage \(directory)/sql/restore.sh",
                    "unknownLanguage \(directory)/standin/deep",
                    "unbalancedBraces \(directory)/standin/start.sh:1:7",
                    "unknownFilter \(directory)/windows/install.ps1:2:5",
                    "unknownLanguage \(directory)/windows/notes.txt",
                ]
                #expect(found == expected)
                return found == expected
            }
        }
    }

    @Test func includesPartialsWhenItLoadsTheFolder() throws {
        let files = [
            FixtureFile(path: "_common/bash.sh", contents: "say() {\n    printf '%s\\n' {{ greeting }}\n}\n"),
            FixtureFile(path: "standin/_platform.sh", contents: "{{> _common/bash.sh }}\nplatform=standin\n"),
            FixtureFile(path: "standin/start.sh", contents: "#!/bin/bash\n{{> standin/_platform.sh }}\n\nsay\n"),
        ]
        try withTemporaryDirectory(files) { directory in
            let library = try TemplateLibrary(directory: directory)
            #expect(library.templates.keys.sorted() == ["standin/start.sh"])
            #expect(library.partials.keys.sorted() == ["_common/bash.sh", "standin/_platform.sh"])
            let start = try library.template(platform: "standin", step: "start")
            #expect(start.variables == ["greeting"])
            #expect(
                try start.render(["greeting": "it's $(id)"])
                    == "#!/bin/bash\nsay() {\n    printf '%s\\n' 'it'\\''s $(id)'\n}\nplatform=standin\n\nsay\n"
            )
            // A problem inside a partial is reported at the partial's own file and line.
            #expect {
                _ = try start.render([:])
            } throws: { error in
                let errors = (error as? TemplateErrors)?.errors ?? []
                return errors.map(\.description) == [
                    "\(directory)/_common/bash.sh:2:19: Template variable `greeting` has no value."
                ]
            }
            // A partial is no step.
            #expect(throws: TemplateErrors.self) { try library.template(platform: "standin", step: "_platform") }
        }
    }

    @Test func reportsEveryIncludeProblemAtOnce() throws {
        let files = [
            FixtureFile(path: "_common/bash.sh", contents: "common\n"),
            FixtureFile(path: "_common/powershell.ps1", contents: "Write-Output 1\n"),
            FixtureFile(path: "_common/loop-a.sh", contents: "{{> _common/loop-b.sh }}\n"),
            FixtureFile(path: "_common/loop-b.sh", contents: "{{> _common/loop-a.sh }}\n"),
            FixtureFile(path: "_common/unterminated.sh", contents: "no line break"),
            FixtureFile(path: "standin/a.sh", contents: "{{> _common/bsh.sh }}\n"),
            FixtureFile(path: "standin/b.sh", contents: "x {{> _common/bash.sh }}\n"),
            FixtureFile(path: "standin/c.sh", contents: "{{> _common/powershell.ps1 }}\n"),
            FixtureFile(path: "standin/d.sh", contents: "{{> standin/a.sh }}\n"),
            FixtureFile(path: "standin/e.sh", contents: "{{> ../etc/passwd }}\n"),
            FixtureFile(path: "standin/f.sh", contents: "{{> _common/unterminated.sh }}\nnext\n"),
            FixtureFile(path: "standin/g.sh", contents: "{{> _common/loop-a.sh }}\n"),
        ]
        _ = try withTemporaryDirectory(files) { directory in
            #expect {
                _ = try TemplateLibrary(directory: directory)
            } throws: { error in
                let errors = (error as? TemplateErrors)?.errors ?? []
                #expect(errors.allSatisfy { $0.code == .invalidInclude })
                let found = errors.map {
                    "\($0.location.file.dropFirst(directory.count + 1)):\($0.location.line) \($0.message)"
                }
                .sorted()
                let expected = [
                    "_common/loop-b.sh:1 `{{> _common/loop-a.sh }}` includes itself (_common/loop-a.sh → "
                        + "_common/loop-b.sh → _common/loop-a.sh); break the cycle.",
                    "standin/a.sh:1 `{{> _common/bsh.sh }}` names no partial in the templates folder; did you mean "
                        + "`_common/bash.sh`?",
                    "standin/b.sh:1 `{{> _common/bash.sh }}` must stand alone on its line (the partial replaces the "
                        + "whole line).",
                    "standin/c.sh:1 `{{> _common/powershell.ps1 }}` is a PowerShell partial; a bash template can only "
                        + "include bash partials.",
                    "standin/d.sh:1 `{{> standin/a.sh }}` names a step or T-SQL template; only partials (in a folder or "
                        + "file whose name starts with `_`) are included.",
                    "standin/e.sh:1 `{{> ../etc/passwd }}` must name a partial by its path inside the templates "
                        + "folder, such as `{{> _common/bash.sh }}`, with no filter.",
                    "standin/f.sh:1 `{{> _common/unterminated.sh }}` names a partial whose last line has no line "
                        + "break; end the file with one.",
                ]
                #expect(found == expected)
                return found == expected
            }
        }
    }

    @Test func aTemplateOutsideALibraryRefusesToRenderAnInclude() {
        #expect {
            _ = try TemplateRenderer.render("{{> _common/bash.sh }}\necho\n", file: "x.sh", values: [:])
        } throws: { error in
            (error as? TemplateErrors)?.errors.map(\.code) == [.invalidInclude]
        }
    }

    @Test func namesAMissingFolder() {
        #expect {
            _ = try TemplateLibrary(directory: "/nonexistent/templates")
        } throws: { error in
            let errors = (error as? TemplateErrors)?.errors ?? []
            return errors.map(\.code) == [.unreadableFile] && errors[0].description.hasPrefix("/nonexistent/templates:")
        }
    }
}
