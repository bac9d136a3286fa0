import Foundation

/// `--junit`: the report as JUnit XML, for CI servers that chart nightly runs.
///
/// - `<testsuites>` holds one `<testsuite name="<instance>.<host>">` per host, with `tests`, `failures`,
///   `errors`, `skipped`, `time` (seconds) and `timestamp`.
/// - Each step is a `<testcase classname="<instance>.<host>" name="<NN>-<step>">` (`NN` its two-digit position in
///   the host's plan); each verify check a `<testcase … name="verify: <check>">`.
/// - A failed step or check has `<failure message="…" type="…">`. A host failure outside any step (unreachable
///   host, stopped run) is one more testcase named `host` with `<error>`.
/// - A step that did not run because an earlier step failed is present with `<skipped message="…"/>`, so every
///   run of the same plan has the same test cases and a CI server tracks each of them over time. A step the
///   journal skipped (already done) passed: it is a plain testcase whose `<system-out>` says so.
/// - Text is escaped for XML 1.0; characters XML 1.0 forbids (control characters other than tab, newline and
///   carriage return, U+FFFE, U+FFFF) become U+FFFD.
extension ProvisionReport {
    /// The JUnit XML, every string redacted.
    ///
    /// - Parameter redactor: The secrets to hide.
    /// - Returns: An XML 1.0 document ending with a newline.
    public func junitXML(redactor: Redactor) -> String {
        let report = redacted(by: redactor)
        var suites: [String] = []
        var totals = Counts()
        for instance in report.instances {
            for host in instance.hosts {
                let (suite, counts) = Self.suite(instance: instance, host: host, started: report.started)
                suites.append(suite)
                totals.add(counts)
            }
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites name=\"octoprov\"" + totals.attributes
            + " time=\"\(Self.seconds(report.duration))\" timestamp=\"\(Timestamp.string(report.started))\">\n"
        xml += suites.joined()
        xml += "</testsuites>\n"
        return xml
    }

    /// Writes the JUnit XML to `path` atomically (mode 0644).
    ///
    /// - Parameters:
    ///   - path: `--junit FILE`.
    ///   - redactor: The secrets to hide.
    /// - Throws: ``FileOperationError`` when the file cannot be written; an earlier file at `path` is then intact.
    public func writeJUnit(to path: String, redactor: Redactor) throws(FileOperationError) {
        try AtomicFile.write(Data(junitXML(redactor: redactor).utf8), to: path, permissions: 0o644)
    }

    private struct Counts {
        var tests = 0
        var failures = 0
        var errors = 0
        var skipped = 0

        mutating func add(_ other: Counts) {
            tests += other.tests
            failures += other.failures
            errors += other.errors
            skipped += other.skipped
        }

        var attributes: String {
            " tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\""
        }
    }

    private static func suite(instance: InstanceReport, host: HostReport, started: Date) -> (String, Counts) {
        let suiteName = "\(instance.name).\(host.name)"
        let classname = XMLText.attribute(suiteName)
        var counts = Counts()
        var cases = ""
        func testcase(_ name: String, time: Duration, body: String) {
            counts.tests += 1
            let open =
                "    <testcase classname=\"\(classname)\" name=\"\(XMLText.attribute(name))\" time=\"\(seconds(time))\""
            cases += body.isEmpty ? open + "/>\n" : open + ">\n" + body + "    </testcase>\n"
        }
        if let error = host.error {
            counts.errors += 1
            testcase(
                "host",
                time: .zero,
                body:
                    "      <error message=\"\(XMLText.attribute(error))\" type=\"host\">\(XMLText.text(error))</error>\n"
            )
        }
        for step in host.steps {
            let name = String(format: "%02d-", step.position) + step.name
            let message = step.message ?? ""
            var body = ""
            switch step.status {
            case .failed:
                counts.failures += 1
                body =
                    "      <failure message=\"\(XMLText.attribute(message))\" type=\"step failed\">"
                    + XMLText.text(message) + "</failure>\n"
            case .skipped:
                counts.skipped += 1
                let reason = message.isEmpty ? "not run: an earlier step failed" : message
                body = "      <skipped message=\"\(XMLText.attribute(reason))\"/>\n"
            case .ok, .changed:
                let text = "\(step.status)" + (message.isEmpty ? "" : ": \(message)")
                body = "      <system-out>\(XMLText.text(text))</system-out>\n"
            }
            testcase(name, time: step.duration, body: body)
        }
        for check in host.checks {
            let message = check.message ?? ""
            var body = ""
            if check.passed {
                if !message.isEmpty { body = "      <system-out>\(XMLText.text(message))</system-out>\n" }
            } else {
                counts.failures += 1
                body =
                    "      <failure message=\"\(XMLText.attribute(message))\" type=\"verify failed\">"
                    + XMLText.text(message) + "</failure>\n"
            }
            testcase("verify: \(check.name)", time: .zero, body: body)
        }
        var suite = "  <testsuite name=\"\(classname)\"" + counts.attributes
        suite += " time=\"\(seconds(host.duration))\" timestamp=\"\(Timestamp.string(started))\""
        suite += " hostname=\"\(XMLText.attribute(host.name))\">\n"
        suite += "    <properties>\n"
        suite += "      <property name=\"instance\" value=\"\(XMLText.attribute(instance.name))\"/>\n"
        suite += "      <property name=\"mode\" value=\"\(XMLText.attribute(instance.mode.rawValue))\"/>\n"
        suite += "      <property name=\"version\" value=\"\(XMLText.attribute(instance.version))\"/>\n"
        suite += "      <property name=\"status\" value=\"\(host.status)\"/>\n"
        suite += "    </properties>\n"
        suite += cases
        suite += "  </testsuite>\n"
        return (suite, counts)
    }

    /// Seconds with three decimals, `1.234`.
    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.3f", duration.roundedSeconds)
    }
}

/// Escaping for XML 1.0 text and attribute values.
enum XMLText {
    /// `text` for element content: `&`, `<`, `>` escaped, carriage returns as `&#13;` (parsers would drop them),
    /// forbidden characters replaced.
    static func text(_ text: String) -> String {
        escape(text, attribute: false)
    }

    /// `text` for a double-quoted attribute value: also `"` and `'`, and tab, newline and carriage return as
    /// character references (parsers would turn them into spaces).
    static func attribute(_ text: String) -> String {
        escape(text, attribute: true)
    }

    /// Whether XML 1.0 allows `scalar` in a document (`Char` production).
    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    private static func escape(_ text: String, attribute: Bool) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where attribute: result += "&quot;"
            case "'" where attribute: result += "&apos;"
            case "\t" where attribute: result += "&#9;"
            case "\n" where attribute: result += "&#10;"
            case "\r": result += "&#13;"
            default:
                result.unicodeScalars.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
            }
        }
        return result
    }
}
