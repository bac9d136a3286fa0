import Provisioning
import Testing

@Suite struct DriftTests {
    static func project(
        _ name: String,
        space: String = "Default",
        process: Int? = 1,
        variables: Int? = 1,
        releases: [String] = ["1.0.0"],
        modified: String? = "2026-11-01T10:00:00Z"
    ) -> ProjectSnapshot {
        ProjectSnapshot(
            space: space,
            name: name,
            id: "Projects-\(name.count)",
            lastModifiedOn: modified,
            processVersion: process,
            variableSetVersion: variables,
            releases: releases
        )
    }

    @Test func identicalInstancesHaveNoDrift() {
        let projects = [Self.project("Web"), Self.project("Billing", space: "Ops")]
        let report = DriftReport.compare(source: projects, clone: projects.reversed())
        #expect(report.count == 0 && report.projects.isEmpty)
        #expect(report.sourceProjects == 2 && report.cloneProjects == 2)
    }

    @Test func eachKindOfChangeIsNamed() {
        let clone = [
            Self.project("Web"), Self.project("Billing"), Self.project("Docs"), Self.project("Old"),
            Self.project("Same", space: "Ops"),
        ]
        let source = [
            Self.project("Web", process: 3),
            Self.project("billing", variables: 2, releases: ["1.0.0", "1.1.0"]),
            Self.project("Docs", releases: [], modified: "2026-11-20T08:00:00Z"),
            Self.project("New"),
            Self.project("SAME", space: "ops"),
        ]
        let report = DriftReport.compare(source: source, clone: clone)
        #expect(report.count == 5)
        #expect(
            report.projects.map(\.project) == [
                "Default/billing", "Default/Docs", "Default/New", "Default/Old", "Default/Web",
            ]
        )
        let byName = Dictionary(uniqueKeysWithValues: report.projects.map { ($0.project, $0) })
        #expect(byName["Default/Web"]?.kind == .changed)
        #expect(byName["Default/Web"]?.details == ["deployment process version 1 → 3"])
        #expect(
            byName["Default/billing"]?.details == ["variable set version 1 → 2", "new release(s) 1.1.0"]
        )
        #expect(
            byName["Default/Docs"]?.details == [
                "release(s) 1.0.0 no longer on the source",
                "settings modified 2026-11-20T08:00:00Z (clone: 2026-11-01T10:00:00Z)",
            ]
        )
        #expect(byName["Default/New"]?.kind == .added)
        #expect(byName["Default/Old"]?.kind == .removed)
    }

    @Test func projectsWithoutSpacesAreNamedAlone() {
        let report = DriftReport.compare(
            source: [Self.project("Web", space: "", process: 2)],
            clone: [Self.project("Web", space: "", process: nil)]
        )
        #expect(report.projects.map(\.project) == ["Web"])
        #expect(report.projects.first?.details == ["deployment process version none → 2"])
    }
}
