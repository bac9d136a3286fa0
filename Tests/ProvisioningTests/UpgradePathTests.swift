import Foundation
import Provisioning
import TestHelpers
import Testing
import Wire

/// One upgrade and what the facts (../shared/octopus-facts.md §5) say its plan is.
struct UpgradePathCase: Sendable, CustomStringConvertible {
    /// The versions as a person writes them (`3.3` is `3.3.0`).
    var from: String
    var to: String
    /// The hops in order, as ``UpgradeHop/description`` writes them (`2018.10.x` for a release line).
    var hops: [String]
    /// The exact set of caveat versions crossed.
    var caveatVersions: Set<String>
    /// The caveats crossed, by id, in plan order.
    var caveats: [String]
    /// The warnings, by fact id, in path order.
    var warnings: [String] = []
    /// `"<fact id> first <version>"`, `"<fact id> instead <version>"`, or `nil` when the direct upgrade is fine.
    var detour: String? = nil

    var description: String { "\(from) → \(to)" }
}

@Suite struct UpgradePathTests {
    static let cases: [UpgradePathCase] = [
        // The issue's example: before 3.4 straight to 2018.4.0–2018.5.4 is broken (Issue #4509).
        UpgradePathCase(
            from: "3.3",
            to: "2018.5",
            hops: ["3.4.15", "3.17.14", "2018.5.0"],
            caveatVersions: ["3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0"],
            caveats: [
                "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1", "3.5-config-in-database", "4.0-cli-order",
                "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
            ],
            detour: "issue-4509 first 3.4.15"
        ),
        // 3.x → 2018.3.5: every 3.x caveat from 3.1 on, and the config-migration bug without a workaround.
        UpgradePathCase(
            from: "3.0.0",
            to: "2018.3.5",
            hops: ["2018.3.5"],
            caveatVersions: ["3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0"],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme",
            ],
            warnings: ["issue-4409"]
        ),
        // 1.x: 1.6, 2.6.5, 2018.10 LTS, then the target.
        UpgradePathCase(
            from: "1.2.0",
            to: "2019.1.0",
            hops: ["1.6.x", "2.6.5", "2018.10.x", "2019.1.0"],
            caveatVersions: ["3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0", "2019.1.0"],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
                "2019.1-spaces", "2019.1-tentacle-4.0",
            ],
            detour: "legacy-1.x first 1.6.x"
        ),
        // 2.x: 2.6.5 and 2018.10 LTS, then the target.
        UpgradePathCase(
            from: "2.4.0",
            to: "2020.1.0",
            hops: ["2.6.5", "2018.10.x", "2020.1.0"],
            caveatVersions: [
                "3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0", "2019.1.0", "2019.2.0", "2019.4.0",
                "2019.7.0", "2020.1.0",
            ],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
                "2019.1-spaces", "2019.1-tentacle-4.0", "2019.2-octopus-client-6.0", "2019.4-windows-2008-r2",
                "2019.7-dotnet-4.7.2", "2020.1-windows-2012-r2", "2020.1-sql-2016", "2020.1-downgrade-protection",
            ],
            detour: "legacy-2.x first 2.6.5"
        ),
        // 2.6.5 → 2024.3: through 2018.10 LTS, which also keeps clear of Issue #9145 (2018.3 or earlier to
        // 2024.3 or later); no hop lands in the SQL Server 2017 builds.
        UpgradePathCase(
            from: "2.6.5",
            to: "2024.3.0",
            hops: ["2018.10.x", "2024.3.0"],
            caveatVersions: [
                "3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0", "2019.1.0", "2019.2.0", "2019.4.0",
                "2019.7.0", "2020.1.0", "2020.2.0", "2020.2.15", "2021.1.0", "2023.2.9755", "2023.3.0",
            ],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
                "2019.1-spaces", "2019.1-tentacle-4.0", "2019.2-octopus-client-6.0", "2019.4-windows-2008-r2",
                "2019.7-dotnet-4.7.2", "2020.1-windows-2012-r2", "2020.1-sql-2016", "2020.1-downgrade-protection",
                "2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error", "2021.1-export-import-projects",
                "2023.2.9755-ha-nodes-running", "2023.3-event-exports",
            ],
            detour: "legacy-2.x first 2018.10.x"
        ),
        // 2.6 → 2018.8.0–2018.8.11 is broken: through 2018.7.14 (Issue #4958); the target is below the
        // documented route's 2018.10 LTS, which a warning says.
        UpgradePathCase(
            from: "2.6.5",
            to: "2018.8.5",
            hops: ["2018.7.14", "2018.8.5"],
            caveatVersions: ["3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0"],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
            ],
            warnings: ["legacy-2.x"],
            detour: "issue-4958 first 2018.7.14"
        ),
        UpgradePathCase(
            from: "2.6",
            to: "2018.8.5",
            hops: ["2.6.5", "2018.7.14", "2018.8.5"],
            caveatVersions: ["3.1.0", "3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0"],
            caveats: [
                "3.1-tentacle-tls", "3.1-windows-2008-sp2", "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1",
                "3.5-config-in-database", "4.0-cli-order", "2018.1-version-scheme", "2018.5-dotnet-4.5.2",
            ],
            warnings: ["legacy-2.x"],
            detour: "legacy-2.x first 2.6.5"
        ),
        // 2018.5.7 or earlier straight to 2018.7.0 is broken: use 2018.7.1 (Issue #4739); both could fail with
        // "Unrecognised document prefix Accounts-1" (Issue #4742).
        UpgradePathCase(
            from: "2018.5.2",
            to: "2018.7.0",
            hops: ["2018.7.0"],
            caveatVersions: [],
            caveats: [],
            warnings: ["issue-4742"],
            detour: "issue-4739 instead 2018.7.1"
        ),
        // 2020.2.0–2020.2.17 need SQL Server 2017.
        UpgradePathCase(
            from: "2019.8.3",
            to: "2020.2.10",
            hops: ["2020.2.10"],
            caveatVersions: ["2020.1.0", "2020.2.0"],
            caveats: [
                "2020.1-windows-2012-r2", "2020.1-sql-2016", "2020.1-downgrade-protection", "2020.2-sql-2017",
                "2020.2-compatibility-level-140",
            ]
        ),
        // 2020.3.0–2020.3.5 need SQL Server 2017; the 2020.2 builds are not landed on.
        UpgradePathCase(
            from: "2019.8.3",
            to: "2020.3.1",
            hops: ["2020.3.1"],
            caveatVersions: ["2020.1.0", "2020.2.0", "2020.2.15", "2020.3.0"],
            caveats: [
                "2020.1-windows-2012-r2", "2020.1-sql-2016", "2020.1-downgrade-protection",
                "2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error", "2020.3-sql-2017",
            ]
        ),
        // 2020.3.6 is past the SQL Server 2017 builds.
        UpgradePathCase(
            from: "2019.8.3",
            to: "2020.3.6",
            hops: ["2020.3.6"],
            caveatVersions: ["2020.1.0", "2020.2.0", "2020.2.15"],
            caveats: [
                "2020.1-windows-2012-r2", "2020.1-sql-2016", "2020.1-downgrade-protection",
                "2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error",
            ]
        ),
        // 2018.x → 2021.x: Spaces, Tentacle 4.0 and everything of 2020.1.
        UpgradePathCase(
            from: "2018.4.0",
            to: "2021.1.7500",
            hops: ["2021.1.7500"],
            caveatVersions: [
                "2018.5.0", "2019.1.0", "2019.2.0", "2019.4.0", "2019.7.0", "2020.1.0", "2020.2.0", "2020.2.15",
                "2021.1.0",
            ],
            caveats: [
                "2018.5-dotnet-4.5.2", "2019.1-spaces", "2019.1-tentacle-4.0", "2019.2-octopus-client-6.0",
                "2019.4-windows-2008-r2", "2019.7-dotnet-4.7.2", "2020.1-windows-2012-r2", "2020.1-sql-2016",
                "2020.1-downgrade-protection", "2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error",
                "2021.1-export-import-projects",
            ]
        ),
        // A patch: nothing crossed.
        UpgradePathCase(
            from: "2021.1.7500",
            to: "2021.1.7595",
            hops: ["2021.1.7595"],
            caveatVersions: [],
            caveats: []
        ),
        // Issue #7790 (fixed versions unconfirmed).
        UpgradePathCase(
            from: "2021.3.13000",
            to: "2022.2.1",
            hops: ["2022.2.1"],
            caveatVersions: [],
            caveats: [],
            warnings: ["issue-7790"]
        ),
        // Issue #9145 (workaround unconfirmed).
        UpgradePathCase(
            from: "2018.2.0",
            to: "2024.3.1",
            hops: ["2024.3.1"],
            caveatVersions: [
                "2018.5.0", "2019.1.0", "2019.2.0", "2019.4.0", "2019.7.0", "2020.1.0", "2020.2.0", "2020.2.15",
                "2021.1.0", "2023.2.9755", "2023.3.0",
            ],
            caveats: [
                "2018.5-dotnet-4.5.2", "2019.1-spaces", "2019.1-tentacle-4.0", "2019.2-octopus-client-6.0",
                "2019.4-windows-2008-r2", "2019.7-dotnet-4.7.2", "2020.1-windows-2012-r2", "2020.1-sql-2016",
                "2020.1-downgrade-protection", "2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error",
                "2021.1-export-import-projects", "2023.2.9755-ha-nodes-running", "2023.3-event-exports",
            ],
            warnings: ["issue-9145"]
        ),
        // Issue #5362.
        UpgradePathCase(
            from: "3.3.24",
            to: "2019.2.0",
            hops: ["2019.2.0"],
            caveatVersions: ["3.4.0", "3.5.0", "4.0.0", "2018.1.0", "2018.5.0", "2019.1.0", "2019.2.0"],
            caveats: [
                "3.4-nuget-v1-semver2", "3.4-dotnet-4.5.1", "3.5-config-in-database", "4.0-cli-order",
                "2018.1-version-scheme", "2018.5-dotnet-4.5.2", "2019.1-spaces", "2019.1-tentacle-4.0",
                "2019.2-octopus-client-6.0",
            ],
            warnings: ["issue-5362"]
        ),
        // Issues #6685 and #6699: corrupt FeedId values on 2020.5 before its fix patch.
        UpgradePathCase(
            from: "2020.1.0",
            to: "2020.5.3",
            hops: ["2020.5.3"],
            caveatVersions: ["2020.2.0", "2020.2.15"],
            caveats: ["2020.2-compatibility-level-140", "2020.2.15-misleading-sql-error"],
            warnings: ["issue-6685"]
        ),
    ]

    @Test(arguments: cases)
    func plansFromTheFacts(_ testCase: UpgradePathCase) throws {
        let plan = try UpgradePathPlanner.plan(
            from: OctopusVersion(parsingRelease: testCase.from),
            to: OctopusVersion(parsingRelease: testCase.to)
        )
        #expect(plan.hops.map(\.description) == testCase.hops)
        #expect(Set(plan.caveats.map(\.version.description)) == testCase.caveatVersions)
        #expect(plan.caveats.map(\.id) == testCase.caveats)
        #expect(plan.warnings.map(\.id) == testCase.warnings)
        let detour = plan.detour.map { "\($0.id) \($0.replacesTarget ? "instead" : "first") \($0.next)" }
        #expect(detour == testCase.detour)
        #expect(plan.isDirectPathBroken == (testCase.detour != nil))

        // Every intermediate hop says why and where that comes from; the target is the last hop, and only it.
        #expect(plan.hops.last?.version == plan.to)
        #expect(plan.hops.filter(\.isTarget).count == 1 && plan.hops.last?.isTarget == true)
        for hop in plan.intermediates {
            #expect(hop.factID?.isEmpty == false && hop.reason?.isEmpty == false && hop.source?.isEmpty == false)
        }
        #expect(zip(plan.hops, plan.hops.dropFirst()).allSatisfy { $0.version < $1.version })
        #expect(plan.hops.allSatisfy { $0.version > plan.from })
        for caveat in plan.caveats { #expect(!caveat.source.isEmpty) }
        for warning in plan.warnings { #expect(!warning.source.isEmpty && warning.from < warning.to) }
    }

    /// Every 3.x before 3.5 that upgrades to a 2018.x crosses the 3.5 config caveat; a 3.x from 3.5 on has already
    /// crossed it.
    @Test(arguments: ["3.0.0", "3.1.0", "3.3.24", "3.4.15"], ["2018.1.0", "2018.6.0", "2018.10.2", "2018.12.1"])
    func threeXToTwentyEighteenCrossesTheConfigCaveat(_ from: String, _ to: String) throws {
        let plan = try UpgradePathPlanner.plan(from: OctopusVersion(parsing: from), to: OctopusVersion(parsing: to))
        let config = try #require(plan.caveats.first { $0.id == "3.5-config-in-database" })
        #expect(config.text.contains("back up the config file"))
        #expect(config.version == OctopusVersion(major: 3, minor: 5, build: 0))
        let later = try UpgradePathPlanner.plan(
            from: OctopusVersion(parsing: "3.17.14"),
            to: OctopusVersion(parsing: to)
        )
        #expect(!later.caveats.contains { $0.id == "3.5-config-in-database" })
    }

    @Test func aDowngradeIsRefusedWithTheRollbackFact() throws {
        let from = try OctopusVersion(parsing: "2023.3.13058")
        let to = try OctopusVersion(parsing: "2021.1.7500")
        let error = #expect(throws: UpgradePathError.self) { try UpgradePathPlanner.plan(from: from, to: to) }
        #expect(error?.code == .downgrade)
        #expect(error?.from == from && error?.to == to)
        let message = try #require(error?.message)
        #expect(message.hasPrefix("2021.1.7500 is older than 2023.3.13058"))
        #expect(message.contains("restoring the database backup taken before it"))
        #expect(message.contains("reinstalling the previous version"))
        #expect(message.contains("(D:src/shared-content/upgrade/upgrade-find-previous-version.include.md)."))
        #expect(message.hasSuffix(".") && !message.contains("\n"))
        // A patch downgrade too: the planner plans upgrades only.
        #expect(throws: UpgradePathError.self) {
            try UpgradePathPlanner.plan(
                from: OctopusVersion(parsing: "2021.1.7595"),
                to: OctopusVersion(parsing: "2021.1.7500")
            )
        }
    }

    @Test func theSameVersionIsNothingToUpgrade() throws {
        let version = try OctopusVersion(parsing: "2021.1.7500")
        let error = #expect(throws: UpgradePathError.self) { try UpgradePathPlanner.plan(from: version, to: version) }
        #expect(error?.code == .sameVersion)
        #expect(
            error?.message == "2021.1.7500 is both the current and the target version, so there is nothing to upgrade."
        )
    }

    // MARK: - The data file

    @Test func theBundledFactsDecodeAndPassTheirChecks() throws {
        let facts = try UpgradeFacts.loadBundled()
        #expect(facts == UpgradeFacts.bundled)
        #expect(!facts.checkpoints.isEmpty && !facts.brokenPaths.isEmpty && facts.legacyRoutes.count == 2)
    }

    @Test func everyFactHasASourceAndText() {
        let facts = UpgradeFacts.bundled
        var sourced: [(String, String, String)] = [("downgrade", facts.downgrade.source, facts.downgrade.text)]
        sourced += facts.legacyRoutes.map { ($0.id, $0.source, $0.text) }
        sourced += facts.brokenPaths.map { ($0.id, $0.source, $0.text) }
        sourced += facts.checkpoints.map { ($0.id, $0.source, $0.title + $0.text) }
        for (id, source, text) in sourced {
            #expect(!source.trimmingCharacters(in: .whitespaces).isEmpty, "\(id) has no source")
            #expect(!text.trimmingCharacters(in: .whitespaces).isEmpty, "\(id) has no text")
            // Every source is a docs path, an issue, an OctopusDSC path or a URL, as octopus-facts.md cites them.
            for part in source.split(separator: "; ") {
                #expect(
                    ["D:src/", "Issue #", "DSC:", "https://"].contains { part.hasPrefix($0) },
                    "\(id): source `\(part)` is not in a known form"
                )
            }
        }
        #expect(!facts.sourceNotation.isEmpty)
    }

    /// The checkpoints issue 7 lists, each with words its caveat must carry.
    static let issueCheckpoints: [(release: String, words: [String])] = [
        ("3.1", ["TLS", ".NET 4.5"]),
        ("3.4", ["TeamCity", "NuGet v1", "SemVer 2"]),
        ("3.5", ["config file", "database", "back up"]),
        ("4.0", ["database", "configure"]),
        ("2019.1", ["Spaces"]),
        ("2019.1", ["Tentacle 4.0"]),
        ("2020.1", ["Windows Server 2012 R2"]),
        ("2020.1", ["SQL Server 2016"]),
        ("2020.2", ["SQL Server 2017", "2020.2.0–2020.2.17"]),
        ("2020.3", ["SQL Server 2017", "2020.3.0–2020.3.5"]),
        ("2021.1", ["Export/Import Projects", "Imports"]),
        ("2023.3", ["EventExports"]),
    ]

    @Test func everyCheckpointOfTheIssueIsCovered() throws {
        let facts = UpgradeFacts.bundled
        for (release, words) in Self.issueCheckpoints {
            let line = try UpgradeRelease(parsing: release)
            let texts = facts.checkpoints.filter { line.names($0.version) }.map { "\($0.title) \($0.text)" }
            #expect(
                texts.contains { text in words.allSatisfy { text.contains($0) } },
                "no \(release) checkpoint says \(words)"
            )
        }
        // The SQL Server 2017 builds are ranges, so that only landing in them counts.
        let sql2017 = facts.checkpoints.filter { $0.id.hasSuffix("sql-2017") }.compactMap(\.range?.description)
        #expect(sql2017 == ["2020.2.0–2020.2.17", "2020.3.0–2020.3.5"])
    }

    @Test func theKnownBrokenPathsAndLegacyRoutesAreTheFacts() throws {
        let facts = UpgradeFacts.bundled
        let broken = Dictionary(uniqueKeysWithValues: facts.brokenPaths.map { ($0.id, $0) })
        #expect(
            Set(broken.keys) == [
                "issue-4509", "issue-4958", "issue-4739", "issue-4742", "issue-4409", "issue-5362", "issue-6685",
                "issue-7790", "issue-9145",
            ]
        )
        for (id, path) in broken {
            let number = id.replacingOccurrences(of: "issue-", with: "")
            #expect(path.source.contains("Issue #\(number)"), "\(id) does not cite its issue")
        }
        #expect(broken["issue-4509"]?.via.map(\.description) == ["3.4.15", "3.17.14"])
        #expect(broken["issue-4958"]?.via.map(\.description) == ["2018.7.14"])
        #expect(broken["issue-4739"]?.useInstead?.description == "2018.7.1")
        let routes = Dictionary(uniqueKeysWithValues: facts.legacyRoutes.map { ($0.id, $0.via.map(\.description)) })
        #expect(routes == ["legacy-1.x": ["1.6.x", "2.6.5", "2018.10.x"], "legacy-2.x": ["2.6.5", "2018.10.x"]])
        // What octopus-facts.md marks [UNCONFIRMED] is unconfirmed here, and nothing else.
        let unconfirmed =
            facts.checkpoints.filter { !$0.confirmed }.map(\.id) + facts.brokenPaths.filter { !$0.confirmed }.map(\.id)
            + facts.legacyRoutes.filter { !$0.confirmed }.map(\.id)
        #expect(Set(unconfirmed) == ["2020.1-downgrade-protection", "issue-7790", "issue-9145"])
        #expect(facts.downgrade.confirmed)
    }

    // MARK: - A malformed data file

    /// A small valid facts file; each malformed case replaces one part of it.
    static let minimalFacts = """
        {
          "format": 1,
          "about": "test",
          "sourceNotation": ["Issue #N is https://github.com/OctopusDeploy/Issues/issues/N."],
          "downgrade": {"text": "restore the backup", "source": "Issue #1", "confirmed": true},
          "legacyRoutes": [
            {"id": "r", "from": {"below": "2.0.0"}, "via": ["1.6", "2.6.5"], "text": "t", "source": "Issue #2",
             "confirmed": true}
          ],
          "brokenPaths": [
            {"id": "b", "to": {"atLeast": "2018.7.0", "atMost": "2018.7.0"}, "useInstead": "2018.7.1",
             "text": "t", "source": "Issue #3", "confirmed": true}
          ],
          "checkpoints": [
            {"id": "c1", "version": "3.1.0", "title": "t", "text": "t", "source": "Issue #4", "confirmed": true},
            {"id": "c2", "version": "2020.2.0", "range": {"atLeast": "2020.2.0", "atMost": "2020.2.17"},
             "title": "t", "text": "t", "source": "Issue #5", "confirmed": false}
          ]
        }
        """

    @Test func theMinimalFactsDecode() throws {
        let facts = try UpgradeFacts.decode(Data(Self.minimalFacts.utf8))
        #expect(facts.checkpoints.map(\.id) == ["c1", "c2"])
        #expect(facts.legacyRoutes.first?.via.map(\.description) == ["1.6.x", "2.6.5"])
    }

    /// A change to ``minimalFacts`` and the start of the error message it must give.
    static let malformed: [(replace: String, with: String, message: String)] = [
        ("\"format\": 1", "\"format\": 2", "at format: format 2 is not the format 1"),
        ("\"about\": \"test\",", "", "at about: the key is missing"),
        ("\"useInstead\"", "\"usInstead\"", "at brokenPaths[0]: unknown key `usInstead`"),
        ("{\"below\": \"2.0.0\"}", "{}", "at legacyRoutes[0].from: the range has no bound"),
        ("{\"below\": \"2.0.0\"}", "{\"atLeast\": \"1.0.0\"}", "at legacyRoutes[0].from: it needs an upper bound"),
        ("[\"1.6\", \"2.6.5\"]", "[\"2.6.5\", \"1.6\"]", "at legacyRoutes[0].via[1]: 1.6.x does not come after 2.6.5"),
        ("\"version\": \"3.1.0\"", "\"version\": \"3.1\"", "at checkpoints[0].version: The Octopus version `3.1`"),
        (
            "\"version\": \"3.1.0\"", "\"version\": \"2021.1.0\"",
            "at checkpoints[1].version: 2020.2.0 comes before 2021.1.0"
        ),
        ("\"atMost\": \"2020.2.17\"", "\"below\": \"2020.2.0\"", "at checkpoints[1].range: `below` 2020.2.0 is not"),
        ("\"source\": \"Issue #4\"", "\"source\": \" \"", "at checkpoints[0].source: it is empty"),
        ("\"id\": \"c2\"", "\"id\": \"c1\"", "at checkpoints[1].id: the id `c1` is used twice"),
        ("\"useInstead\": \"2018.7.1\"", "\"useInstead\": \"2018.7.0\"", "at brokenPaths[0].useInstead: 2018.7.0"),
        ("\"confirmed\": false", "\"confirmed\": \"no\"", "at checkpoints[1].confirmed: expected Bool"),
        ("\"format\": 1,", "\"format\": 1", "upgrade-facts.json: The given data was not valid JSON"),
    ]

    @Test(arguments: malformed.indices)
    func aMalformedFactsFileIsOneSentenceNamingTheEntry(_ index: Int) throws {
        let (replace, with, expected) = Self.malformed[index]
        #expect(Self.minimalFacts.contains(replace))
        let json = Self.minimalFacts.replacingOccurrences(of: replace, with: with)
        let error = #expect(throws: UpgradeFactsError.self) { try UpgradeFacts.decode(Data(json.utf8)) }
        let message = try #require(error?.message)
        #expect(message.hasPrefix("Sources/Provisioning/Upgrade/upgrade-facts.json"))
        #expect(message.contains(expected), "\(message)")
        #expect(message.hasSuffix("; fix the data file.") && !message.contains("\n"))
    }

    // MARK: - Versions as people write releases

    @Test func releasesParseWithTwoOrThreeParts() throws {
        #expect(try OctopusVersion(parsingRelease: "2018.10") == OctopusVersion(major: 2018, minor: 10, build: 0))
        #expect(try OctopusVersion(parsingRelease: "3.17.14") == OctopusVersion(major: 3, minor: 17, build: 14))
        #expect(try UpgradeRelease(parsing: "2018.10").description == "2018.10.x")
        #expect(try UpgradeRelease(parsing: "2018.10.0").description == "2018.10.0")
        for text in ["3", "2018.10.1.2", "2018.x", "2018.010", "", "2018.10."] {
            let error = #expect(throws: VersionError.self) { try OctopusVersion(parsingRelease: text) }
            #expect(error?.code == .malformed)
            #expect(error?.message.hasSuffix(".") == true)
        }
        // The strict parser still wants three parts.
        #expect(throws: VersionError.self) { try OctopusVersion(parsing: "2018.10") }
    }

    @Test func thePlanRoundTripsThroughJSON() throws {
        let plan = try UpgradePathPlanner.plan(
            from: OctopusVersion(parsingRelease: "1.2"),
            to: OctopusVersion(parsingRelease: "2018.8.5")
        )
        let data = try JSONEncoder().encode(plan)
        #expect(try JSONDecoder().decode(UpgradePlan.self, from: data) == plan)
    }

    @Test func theTextMarksUnconfirmedFactsAndNamesEverySource() throws {
        let plan = try UpgradePathPlanner.plan(
            from: OctopusVersion(parsing: "2019.8.3"),
            to: OctopusVersion(parsing: "2022.2.1")
        )
        let lines = plan.lines()
        #expect(
            lines.first == "Upgrade path from 2019.8.3 to 2022.2.1 (facts: \(UpgradeFacts.file); no host is contacted)"
        )
        #expect(lines.contains("  2020.1.0"))
        #expect(lines.contains { $0.hasPrefix("    - [UNCONFIRMED] Downgrade protection: ") })
        for caveat in plan.caveats { #expect(lines.contains("      source: \(caveat.source)")) }
        #expect(lines.contains("Warnings: none."))
    }
}

/// `octoprov upgrade-path` as a person runs it: the built binary, its output and its exit status.
@Suite("upgrade-path command", .tags(.cli))
struct UpgradePathCLITests {
    static func run(_ arguments: [String]) throws -> CommandOutput {
        try withTemporaryDirectory { directory in
            try runOctoprovCommand(["upgrade-path"] + arguments, in: directory)
        }
    }

    @Test func textShowsTheHopsCaveatsAndSources() throws {
        let result = try Self.run(["3.3", "2018.5"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr == """
                <from>: 3.3 is read as 3.3.0, the first build of that release.
                <to>: 2018.5 is read as 2018.5.0, the first build of that release.

                """
        )
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let reason =
            "Upgrading from before 3.4 straight to 2018.4.0–2018.5.4 is broken; go through 3.4.15 and 3.17.14. "
            + "(source: Issue #4509)"
        #expect(
            Array(lines.prefix(10)) == [
                "Upgrade path from 3.3.0 to 2018.5.0 (facts: Sources/Provisioning/Upgrade/upgrade-facts.json; "
                    + "no host is contacted)",
                "",
                "Direct upgrade 3.3.0 → 2018.5.0: not the documented way; upgrade to 3.4.15 first.",
                "  " + reason,
                "",
                "Hops (3):",
                "  1. 3.4.15    " + reason,
                "  2. 3.17.14   " + reason,
                "  3. 2018.5.0  target",
                "",
            ]
        )
        #expect(lines.contains("Caveats crossed (6):"))
        #expect(lines.contains("  3.5.0"))
        #expect(
            lines.contains(
                "    - Settings move from the config file into the database: Some server settings move from the "
                    + "instance config file into the database: back up the config file before upgrading; to "
                    + "downgrade, restore the old config file after downgrading."
            )
        )
        #expect(
            lines.contains(
                "      source: D:src/pages/docs/administration/upgrading/guide/upgrading-from-octopus-3.x-to-modern.mdx"
            )
        )
        #expect(lines.contains("Warnings: none."))
        #expect(lines.contains("  Issue #N is https://github.com/OctopusDeploy/Issues/issues/N."))
    }

    @Test func jsonIsThePlan() throws {
        let result = try Self.run(["2019.8.3", "2020.2.10", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")
        let plan = try JSONDecoder().decode(UpgradePlan.self, from: Data(result.stdout.utf8))
        let expected = try UpgradePathPlanner.plan(
            from: OctopusVersion(parsing: "2019.8.3"),
            to: OctopusVersion(parsing: "2020.2.10")
        )
        #expect(plan == expected)
        #expect(plan.caveats.contains { $0.id == "2020.2-sql-2017" })
        #expect(result.stdout.contains(#""source" : "D:src/pages/docs/support/compatibility.md; Issue #6320"#))
    }

    @Test func jsonShowsTheDetourAndUnconfirmedWarnings() throws {
        let result = try Self.run(["2018.2.0", "2024.3.1", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let plan = try JSONDecoder().decode(UpgradePlan.self, from: Data(result.stdout.utf8))
        #expect(plan.warnings.map(\.id) == ["issue-9145"])
        #expect(plan.warnings.first?.confirmed == false)
        let instead = try Self.run(["2018.5.2", "2018.7.0", "--format", "json"])
        let replaced = try JSONDecoder().decode(UpgradePlan.self, from: Data(instead.stdout.utf8))
        #expect(replaced.detour?.replacesTarget == true)
        #expect(replaced.detour?.next.description == "2018.7.1")
        #expect(instead.stdout.contains(#""next" : "2018.7.1""#))
    }

    @Test func aBadVersionIsOneSentenceAndExit64() throws {
        let result = try Self.run(["3.x", "2021.1.7500"])
        #expect(result.status == 64)
        #expect(result.stdout == "")
        #expect(
            result.stderr
                == "<from>: The Octopus version `3.x` is not valid: each part must be a decimal number, like "
                + "`2023.3.13058`.\n"
        )
        let format = try Self.run(["3.3", "2018.5", "--format", "yaml"])
        #expect(format.status == 64)
    }

    @Test func aDowngradeIsOneSentenceAndExit1() throws {
        let result = try Self.run(["2023.3.13058", "2021.1.7500"])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(
            result.stderr
                == "2021.1.7500 is older than 2023.3.13058, and octoprov does not plan downgrades: rolling back an "
                + "upgrade means restoring the database backup taken before it, with the folders, and reinstalling "
                + "the previous version (D:src/shared-content/upgrade/upgrade-find-previous-version.include.md).\n"
        )
        let same = try Self.run(["2021.1.7500", "2021.1.7500"])
        #expect(same.status == 1)
        #expect(same.stderr.hasSuffix("so there is nothing to upgrade.\n"))
    }

    @Test func helpHasExamples() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("octoprov upgrade-path 3.3 2018.5"))
        #expect(result.stdout.contains("--format <format>"))
    }
}
