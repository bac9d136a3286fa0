import Foundation
import Provisioning
import Testing

// MARK: - Fixture

/// A run of instance `lab` on three hosts: vm1 provisioned (one verify check fails), vm2 failed in `install`, vm3
/// unreachable.
private enum ReportFixture {
    static let secret = "Pr0d-Master-Key"
    static let redactor = Redactor(secrets: [secret])
    /// A message with XML's special characters, a tab, a newline, control characters and the secret.
    static let nasty = "bad <tag> & \"quotes\" 'apos'\tand\nline two \u{1}\u{1B}[31m key=\(secret)"

    static func report() -> ProvisionReport {
        let steps = ["preflight", "install", "upload-backup", "restore", "quarantine", "verify"]
        let vm1 = HostReport(
            name: "vm1",
            duration: .milliseconds(65_432),
            steps: steps.enumerated().map { index, name in
                StepReport(
                    position: index + 1,
                    name: name,
                    status: index == 0 ? .ok : .changed,
                    duration: .milliseconds(1000 * Int64(index) + 250),
                    message: index == 0 ? "already done" : "\(name) done"
                )
            },
            checks: [
                VerifyCheckReport(name: "version", passed: true, message: "2023.3.13026"),
                VerifyCheckReport(name: "machines-disabled", passed: false, message: nasty),
                VerifyCheckReport(name: "triggers-disabled", passed: true),
            ]
        )
        let vm2 = HostReport(
            name: "vm2",
            duration: .milliseconds(3_001),
            steps: steps.enumerated().map { index, name in
                StepReport(
                    position: index + 1,
                    name: name,
                    status: index == 0 ? .changed : index == 1 ? .failed : .skipped,
                    duration: index < 2 ? .milliseconds(1500) : .zero,
                    message: index == 1 ? nasty : nil
                )
            }
        )
        let vm3 = HostReport(
            name: "vm3",
            duration: .milliseconds(10),
            steps: steps.enumerated().map { index, name in
                StepReport(position: index + 1, name: name, status: .skipped, duration: .zero)
            },
            error: "Cannot connect to vm3 (127.0.0.3:22): connection refused; check that sshd runs there."
        )
        return ProvisionReport(
            octoprovVersion: "0.1.0",
            started: Date(timeIntervalSince1970: 1_777_629_600.5),
            duration: .milliseconds(70_123),
            instances: [InstanceReport(name: "lab", mode: .clone, version: "2023.3.13026", hosts: [vm1, vm2, vm3])]
        )
    }
}

/// The JUnit XML as python3's `xml.etree` reads it: per suite its attributes, properties and test cases, with
/// each case's outcome element (tag and, when present, message, type, text).
private func parseJUnit(_ xml: String) throws -> [String: Any] {
    let script = """
        import json, sys
        import xml.etree.ElementTree as ET
        root = ET.fromstring(sys.stdin.buffer.read())
        def outcome(case):
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    found = {"tag": child.tag, "message": child.get("message"), "type": child.get("type"),
                             "text": child.text}
                    return {key: value for key, value in found.items() if value is not None}
            return None
        print(json.dumps({
            "tag": root.tag,
            "attributes": root.attrib,
            "suites": [{
                "attributes": suite.attrib,
                "properties": {p.get("name"): p.get("value") for p in suite.iter("property")},
                "cases": [{"attributes": case.attrib, "outcome": outcome(case)} for case in suite.iter("testcase")],
            } for suite in root.iter("testsuite")],
        }))
        """
    let result = try runTool(["python3", "-c", script], input: xml)
    try #require(result.status == 0, "python3 could not parse the JUnit XML: \(result.stderr)")
    return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
}

// MARK: - JSON

@Suite struct JSONReportTests {
    @Test func theJSONReportHasEveryHostStepAndCheckWithoutSecrets() throws {
        let data = ReportFixture.report().jsonData(redactor: ReportFixture.redactor)
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains(ReportFixture.secret))
        #expect(!text.contains(Data(ReportFixture.secret.utf8).base64EncodedString()))
        #expect(text.hasSuffix("}\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["format"] as? Int == 1)
        #expect(json["octoprovVersion"] as? String == "0.1.0")
        #expect(json["started"] as? String == "2026-05-01T10:00:00.500Z")
        #expect(json["durationSeconds"] as? Double == 70.123)
        #expect(json["status"] as? String == "failed")
        let instances = try #require(json["instances"] as? [[String: Any]])
        #expect(instances.count == 1)
        let instance = try #require(instances.first)
        #expect(instance["name"] as? String == "lab")
        #expect(instance["mode"] as? String == "clone")
        #expect(instance["version"] as? String == "2023.3.13026")
        let hosts = try #require(instance["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["name"] as? String } == ["vm1", "vm2", "vm3"])
        #expect(hosts.map { $0["status"] as? String } == ["failed", "failed", "failed"])
        #expect(hosts.map { $0["error"] as? String } == [nil, nil, ReportFixture.report().instances[0].hosts[2].error])
        #expect(hosts[0]["durationSeconds"] as? Double == 65.432)

        let vm1Steps = try #require(hosts[0]["steps"] as? [[String: Any]])
        #expect(vm1Steps.count == 6)
        let install = vm1Steps[1]
        #expect(install["name"] as? String == "install")
        #expect(install["position"] as? Int == 2)
        #expect(install["status"] as? String == "changed")
        #expect(install["changed"] as? Bool == true)
        #expect(install["durationSeconds"] as? Double == 1.25)
        #expect(install["message"] as? String == "install done")
        #expect(vm1Steps[0]["changed"] as? Bool == false)
        #expect(Set(install.keys) == ["changed", "durationSeconds", "message", "name", "position", "status"])

        let checks = try #require(hosts[0]["checks"] as? [[String: Any]])
        #expect(checks.map { $0["name"] as? String } == ["version", "machines-disabled", "triggers-disabled"])
        #expect(checks.map { $0["passed"] as? Bool } == [true, false, true])
        #expect(checks[1]["message"] as? String == ReportFixture.redactor.redact(ReportFixture.nasty))
        #expect(checks[2]["message"] == nil)

        let vm2Steps = try #require(hosts[1]["steps"] as? [[String: Any]])
        #expect(
            vm2Steps.map { $0["status"] as? String } == ["changed", "failed"] + Array(repeating: "skipped", count: 4)
        )
        #expect((vm2Steps[1]["message"] as? String)?.contains("key=***") == true)
    }

    @Test func theJSONReportReadsBackAsTheRedactedReport() throws {
        let report = ReportFixture.report()
        let data = report.jsonData(redactor: ReportFixture.redactor)
        let read = try ProvisionReport(json: data)
        #expect(read == report.redacted(by: ReportFixture.redactor))
        #expect(read != report)
        #expect(read.succeeded == false)
    }

    @Test func theSameRunGivesTheSameBytes() {
        let one = ReportFixture.report()
        let two = ReportFixture.report()
        #expect(one.jsonData(redactor: ReportFixture.redactor) == two.jsonData(redactor: ReportFixture.redactor))
        #expect(one.junitXML(redactor: ReportFixture.redactor) == two.junitXML(redactor: ReportFixture.redactor))
    }

    @Test func statusesCombineFailedOverChangedOverOk() {
        let ok = StepReport(position: 1, name: "preflight", status: .ok, duration: .zero)
        let changed = StepReport(position: 2, name: "install", status: .changed, duration: .zero)
        #expect(HostReport(name: "a", duration: .zero, steps: [ok]).status == .ok)
        #expect(HostReport(name: "a", duration: .zero, steps: [ok, changed]).status == .changed)
        #expect(
            HostReport(
                name: "a",
                duration: .zero,
                steps: [ok],
                checks: [VerifyCheckReport(name: "health", passed: false)]
            ).status == .failed
        )
        #expect(HostReport(name: "a", duration: .zero, steps: [], error: "unreachable").status == .failed)
        let run = ProvisionReport(
            started: Date(timeIntervalSince1970: 0),
            duration: .zero,
            instances: [
                InstanceReport(
                    name: "lab",
                    mode: .clone,
                    version: "1",
                    hosts: [HostReport(name: "a", duration: .zero, steps: [ok, changed])]
                )
            ]
        )
        #expect(run.status == .changed)
        #expect(run.succeeded)
        #expect(run.octoprovVersion == OctoprovVersion.current)
    }

    @Test func reportsAreWrittenAtomicallyAndReadable() throws {
        try withTemporaryDirectory { directory in
            let report = ReportFixture.report()
            try Data("old".utf8).write(to: URL(fileURLWithPath: directory + "/report.json"))
            try report.writeJSON(to: directory + "/report.json", redactor: ReportFixture.redactor)
            try report.writeJUnit(to: directory + "/junit.xml", redactor: ReportFixture.redactor)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["junit.xml", "report.json"]
            )
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
                    == report.jsonData(redactor: ReportFixture.redactor)
            )
            #expect(
                try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
                    == report.junitXML(redactor: ReportFixture.redactor)
            )
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/junit.xml")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o644)
            #expect(throws: FileOperationError.self) {
                try report.writeJSON(to: directory + "/missing/report.json", redactor: .none)
            }
        }
    }
}

// MARK: - JUnit

@Suite struct JUnitReportTests {
    @Test func junitParsesWithOneSuitePerHostAndOneCasePerStepAndCheck() throws {
        let xml = ReportFixture.report().junitXML(redactor: ReportFixture.redactor)
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "))
        #expect(!xml.contains(ReportFixture.secret))
        let parsed = try parseJUnit(xml)
        #expect(parsed["tag"] as? String == "testsuites")
        let root = try #require(parsed["attributes"] as? [String: String])
        // vm1: 6 steps + 3 checks (1 failure); vm2: 6 steps (1 failure, 4 skipped); vm3: host error + 6 skipped.
        #expect(root["tests"] == "22")
        #expect(root["failures"] == "2")
        #expect(root["errors"] == "1")
        #expect(root["skipped"] == "10")
        #expect(root["time"] == "70.123")
        #expect(root["timestamp"] == "2026-05-01T10:00:00.500Z")

        let suites = try #require(parsed["suites"] as? [[String: Any]])
        #expect(suites.count == 3)
        let attributes = suites.compactMap { $0["attributes"] as? [String: String] }
        #expect(attributes.map { $0["name"] } == ["lab.vm1", "lab.vm2", "lab.vm3"])
        #expect(attributes.map { $0["tests"] } == ["9", "6", "7"])
        #expect(attributes.map { $0["failures"] } == ["1", "1", "0"])
        #expect(attributes.map { $0["errors"] } == ["0", "0", "1"])
        #expect(attributes.map { $0["skipped"] } == ["0", "4", "6"])
        #expect(attributes.map { $0["time"] } == ["65.432", "3.001", "0.010"])
        #expect(
            suites.first?["properties"] as? [String: String] == [
                "instance": "lab", "mode": "clone", "version": "2023.3.13026", "status": "failed",
            ]
        )

        let vm1 = try #require(suites[0]["cases"] as? [[String: Any]])
        let vm1Attributes = vm1.compactMap { $0["attributes"] as? [String: String] }
        #expect(
            vm1Attributes.map { $0["name"] } == [
                "01-preflight", "02-install", "03-upload-backup", "04-restore", "05-quarantine", "06-verify",
                "verify: version", "verify: machines-disabled", "verify: triggers-disabled",
            ]
        )
        #expect(vm1Attributes.allSatisfy { $0["classname"] == "lab.vm1" })
        #expect(vm1Attributes.prefix(3).map { $0["time"] } == ["0.250", "1.250", "2.250"])
        let failure = try #require(vm1[7]["outcome"] as? [String: String])
        #expect(failure["tag"] == "failure")
        #expect(failure["type"] == "verify failed")
        // Special characters, tab and newline survive; control characters become U+FFFD; the secret is hidden.
        let expected = ReportFixture.redactor.redact(ReportFixture.nasty)
            .replacingOccurrences(of: "\u{1}", with: "\u{FFFD}")
            .replacingOccurrences(of: "\u{1B}", with: "\u{FFFD}")
        #expect(failure["message"] == expected)
        #expect(failure["text"] == expected)
        #expect(vm1.filter { $0["outcome"] is [String: String] }.count == 1)

        let vm2 = try #require(suites[1]["cases"] as? [[String: Any]])
        let vm2Outcomes = vm2.map { ($0["outcome"] as? [String: String])?["tag"] ?? "passed" }
        #expect(vm2Outcomes == ["passed", "failure", "skipped", "skipped", "skipped", "skipped"])
        #expect((vm2[2]["outcome"] as? [String: String])?["message"] == "not run: an earlier step failed")
        #expect((vm2[1]["outcome"] as? [String: String])?["type"] == "step failed")

        let vm3 = try #require(suites[2]["cases"] as? [[String: Any]])
        let hostCase = try #require(vm3.first)
        #expect((hostCase["attributes"] as? [String: String])?["name"] == "host")
        let error = try #require(hostCase["outcome"] as? [String: String])
        #expect(error["tag"] == "error")
        #expect(error["message"] == ReportFixture.report().instances[0].hosts[2].error)
    }

    @Test func xmlEscapingCoversMarkupQuotesWhitespaceAndForbiddenCharacters() throws {
        let report = ProvisionReport(
            started: Date(timeIntervalSince1970: 0),
            duration: .seconds(1),
            instances: [
                InstanceReport(
                    name: "a&b",
                    mode: .testInstance,
                    version: "1<2",
                    hosts: [
                        HostReport(
                            name: "vm\"1'",
                            duration: .seconds(1),
                            steps: [
                                StepReport(
                                    position: 1,
                                    name: "pre]]>flight",
                                    status: .failed,
                                    duration: .seconds(1),
                                    message: "cr\r\nlf \u{0}\u{8}\u{B}\u{C}\u{7F} \u{FFFE} ok \u{1F600}"
                                )
                            ]
                        )
                    ]
                )
            ]
        )
        let xml = report.junitXML(redactor: .none)
        let parsed = try parseJUnit(xml)
        let suites = try #require(parsed["suites"] as? [[String: Any]])
        let suite = try #require(suites.first?["attributes"] as? [String: String])
        #expect(suite["name"] == "a&b.vm\"1'")
        let cases = try #require(suites.first?["cases"] as? [[String: Any]])
        #expect((cases.first?["attributes"] as? [String: String])?["name"] == "01-pre]]>flight")
        let failure = try #require(cases.first?["outcome"] as? [String: String])
        // U+007F is allowed by XML 1.0; NUL, backspace, VT, FF and U+FFFE are not.
        let expected = "cr\r\nlf \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{7F} \u{FFFD} ok \u{1F600}"
        #expect(failure["message"] == expected)
        #expect(failure["text"] == expected)
        #expect((suites.first?["properties"] as? [String: String])?["version"] == "1<2")
    }
}
