import Foundation
import OctopusStandIn
import TestHelpers
import Testing

/// The docs' own SQL (octopus-facts.md §3.3 and §3.4), copied verbatim into `Fixtures/`.
@Suite(.tags(.medium))
struct DocsSQLTests {
    @Test func disableEverythingLeavesNothingEnabled() throws {
        let fixture = try StandInFixture()
        let result = try fixture.sqlcmd(["-S", "localhost", "-E", "-b", "-i", fixturePath("disable-everything.sql")])
        #expect(result.status == 0)
        #expect(!result.output.contains { $0.hasPrefix("Msg ") })
        #expect(try fixture.column("SELECT Id FROM OctopusServerNode").isEmpty)
        #expect(try fixture.column("SELECT Id FROM OctopusServerNodeStatus").isEmpty)
        for table in ["Machine", "Worker", "ProjectTrigger", "Subscription"] {
            let flags = try fixture.column("SELECT IsDisabled FROM \(table)")
            #expect(!flags.isEmpty && flags.allSatisfy { $0 == "1" }, "\(table): \(flags)")
        }
        #expect(try fixture.column("SELECT Id FROM ExtensionConfiguration") == ["other"])
        #expect(try fixture.column("SELECT Id FROM Machine") == ["Machines-1", "Machines-2", "Machines-3"])
    }

    @Test func disableEverythingOnASchemaWithoutWorkersOrNodeStatus() throws {
        let fixture = try StandInFixture(omitting: ["Worker", "OctopusServerNodeStatus"])
        let result = try fixture.sqlcmd(["-S", "localhost", "-E", "-b", "-i", fixturePath("disable-everything.sql")])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains { $0.hasPrefix("Msg ") })
        #expect(try fixture.column("SELECT Id FROM OctopusServerNode").isEmpty)
        #expect(try fixture.column("SELECT IsDisabled FROM Machine") == ["1", "1", "1"])
        #expect(try fixture.column("SELECT Id FROM ExtensionConfiguration") == ["other"])
        #expect(try !fixture.open().tableExists("Worker"))
    }

    /// The docs' script is a dry run (`@dryRun BIT = 1`); a `-v` variable lets the test choose.
    private func installationIDScript(in fixture: borrowing StandInFixture) throws -> String {
        let verbatim = try String(contentsOfFile: fixturePath("new-installation-id.sql"), encoding: .utf8)
        let line = "DECLARE @dryRun BIT = 1 -- set this to 0 to update the Installation Id"
        #expect(verbatim.contains(line))
        let text = verbatim.replacingOccurrences(of: line, with: "DECLARE @dryRun BIT = $(dryRun)")
        return try writeScript(text, named: "new-installation-id.sql", in: fixture.root)
    }

    @Test func newInstallationIDIsWrittenWhenNotADryRun() throws {
        let fixture = try StandInFixture()
        let script = try installationIDScript(in: fixture)
        let result = try fixture.sqlcmd(["-d", "OctopusDeploy", "-b", "-v", "dryRun=0", "-i", script])
        #expect(result.status == 0, "\(result.output)")
        let id = try #require(
            try fixture.column("SELECT json_extract(JSON, '$.InstallationId') FROM Configuration").first
        )
        #expect(id != StandInFixture.installationID)
        #expect(id.count == 36 && id == id.lowercased() && UUID(uuidString: id) != nil, "\(id)")
        #expect(try fixture.column("SELECT json_extract(JSON, '$.Enabled') FROM Configuration") == ["1"])
    }

    @Test func newInstallationIDDryRunChangesNothing() throws {
        let fixture = try StandInFixture()
        let before = try fixture.column("SELECT JSON FROM Configuration")
        let script = try installationIDScript(in: fixture)
        let result = try fixture.sqlcmd(["-d", "OctopusDeploy", "-b", "-v", "dryRun=1", "-i", script])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.last == "(0 rows affected)")
        #expect(try fixture.column("SELECT JSON FROM Configuration") == before)
    }

    @Test func previousVersionQueryFromTheDocs() throws {
        let fixture = try StandInFixture()
        let query = "SELECT TOP 5 [Version] FROM [dbo].[OctopusServerInstallationHistory] ORDER BY Installed desc"
        let result = try fixture.sqlcmd(["-d", "OctopusDeploy", "-Q", query])
        #expect(result.output == ["Version    ", "-----------", "2023.4.8536", "2023.2.9755", "", "(2 rows affected)"])
    }
}
