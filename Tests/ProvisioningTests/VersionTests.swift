import Foundation
import Provisioning
import Testing

@Suite struct VersionTests {
    /// A version string and what parsing it should give: its parts, or `nil` for a malformed one.
    struct ParseCase: Sendable, CustomStringConvertible {
        var text: String
        var parts: (Int, Int, Int)?
        var description: String { "\"\(text)\"" }
    }

    static let parseCases: [ParseCase] = [
        ParseCase(text: "3.17.14", parts: (3, 17, 14)),
        ParseCase(text: "4.1.10", parts: (4, 1, 10)),
        ParseCase(text: "2018.10.1", parts: (2018, 10, 1)),
        ParseCase(text: "2021.1.7500", parts: (2021, 1, 7500)),
        ParseCase(text: "2023.3.13058", parts: (2023, 3, 13058)),
        ParseCase(text: "3.0.0", parts: (3, 0, 0)),
        ParseCase(text: "2.6.5", parts: (2, 6, 5)),
        ParseCase(text: "", parts: nil),
        ParseCase(text: "3", parts: nil),
        ParseCase(text: "3.17", parts: nil),
        ParseCase(text: "3.x", parts: nil),
        ParseCase(text: "3.x.1", parts: nil),
        ParseCase(text: "2021.1.", parts: nil),
        ParseCase(text: ".2021.1", parts: nil),
        ParseCase(text: "v2021.1.1", parts: nil),
        ParseCase(text: "2021.01.1", parts: nil),
        ParseCase(text: "2023.3.13058.1", parts: nil),
        ParseCase(text: " 2021.1.1", parts: nil),
        ParseCase(text: "2021.1.1-beta", parts: nil),
        ParseCase(text: "2021.1.+1", parts: nil),
        ParseCase(text: "2021.1.１", parts: nil),
        ParseCase(text: "2021.1.99999999999999999999", parts: nil),
    ]

    @Test(arguments: parseCases)
    func parses(_ testCase: ParseCase) {
        do {
            let version = try OctopusVersion(parsing: testCase.text)
            guard let (major, minor, build) = testCase.parts else {
                Issue.record("\(testCase) parsed as \(version) but should be refused")
                return
            }
            #expect(version == OctopusVersion(major: major, minor: minor, build: build))
            #expect(version.description == testCase.text)
            #expect(try OctopusVersion(parsing: version.description) == version)
        } catch {
            #expect(testCase.parts == nil, "\(testCase) was refused: \(error.message)")
            #expect(error.code == .malformed)
            #expect(error.value == testCase.text)
            #expect(error.message.hasSuffix("."))
            #expect(!error.message.contains("\n"))
            if !testCase.text.isEmpty {
                #expect(error.message.contains("`\(testCase.text)`"))
            }
        }
    }

    /// Pairs in ascending order, part by part numerically (never as text).
    static let ascending: [(String, String)] = [
        ("2.6.5", "3.0.0"),
        ("3.4.15", "3.17.14"),
        ("3.17.14", "4.0.0"),
        ("4.1.10", "2018.1.0"),
        ("2018.7.14", "2018.10.1"),
        ("2021.1.7500", "2021.1.7595"),
        ("2021.3.12912", "2022.1.2735"),
        ("2023.2.9755", "2023.3.0"),
        ("2023.3.9999", "2023.3.13058"),
    ]

    @Test(arguments: ascending)
    func compares(_ lower: String, _ higher: String) throws {
        let low = try OctopusVersion(parsing: lower)
        let high = try OctopusVersion(parsing: higher)
        #expect(low < high)
        #expect(!(high < low))
        #expect(low != high)
        #expect([high, low].sorted() == [low, high])
    }

    @Test func hashableAndCodableAsString() throws {
        let version = try OctopusVersion(parsing: "2023.3.13058")
        #expect(Set([version, OctopusVersion(major: 2023, minor: 3, build: 13058)]).count == 1)
        let data = try JSONEncoder().encode(["version": version])
        #expect(String(decoding: data, as: UTF8.self) == #"{"version":"2023.3.13058"}"#)
        #expect(try JSONDecoder().decode([String: OctopusVersion].self, from: data) == ["version": version])
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode([String: OctopusVersion].self, from: Data(#"{"v":"2021.01.1"}"#.utf8))
        }
    }

    /// A version and its expected (isModern, cliDatabaseBeforeConfigure, hasSpaces, hasExportImportProjects,
    /// hasEventExports).
    static let features: [(String, [Bool])] = [
        ("2.6.5", [false, false, false, false, false]),
        ("3.0.0", [true, false, false, false, false]),
        ("3.17.14", [true, false, false, false, false]),
        ("4.0.0", [true, true, false, false, false]),
        ("2018.10.1", [true, true, false, false, false]),
        ("2019.1.0", [true, true, true, false, false]),
        ("2020.6.4000", [true, true, true, false, false]),
        ("2021.1.7500", [true, true, true, true, false]),
        ("2023.2.9755", [true, true, true, true, false]),
        ("2023.3.13058", [true, true, true, true, true]),
    ]

    @Test(arguments: features)
    func versionDependentBehaviour(_ text: String, _ expected: [Bool]) throws {
        let version = try OctopusVersion(parsing: text)
        let actual = [
            version.isModern, version.cliDatabaseBeforeConfigure, version.hasSpaces, version.hasExportImportProjects,
            version.hasEventExports,
        ]
        #expect(actual == expected)
    }
}
