import Foundation
import Provisioning
import Testing

// The upgrade and teardown templates where they need no stand-in or Docker: rendered with hostile paths and
// run with bash, they refuse a downgrade and a missing installation with one sentence, and the teardown of a
// host with nothing installed only removes octoprov's own files. Their real runs are in
// Tests/LiveTests/UpgradeTemplateTests.swift.

@Suite struct UpgradeStepTemplateTests {
    let runner = StepTemplateRunTests()

    /// `StepTemplateRunTests.runValues` with the upgrade's variables: from `from` to `to`.
    func upgradeValues(_ root: String, from: String, to: String) throws -> [String: String] {
        var values = runner.runValues(root, contract: try StepContract.load())
        values["from_version"] = from
        values["version"] = to
        values["upgrade_backup_file"] = root + "/work/Octo'pus $(id)-\(from).pre-upgrade.bak"
        return values
    }

    @Test(arguments: ["standin", "linux-container"])
    func thePreflightRefusesADowngradeBeforeLookingAtTheHost(_ platform: String) throws {
        try runner.withHostileFolder { folder in
            let values = try upgradeValues(folder.root, from: "2024.1.11892", to: "2023.3.13026")
            let run = try runner.run(platform, "upgrade-preflight", values)
            #expect(run.status == 1)
            #expect(run.result == nil, "\(run.stdout)")
            #expect(
                run.stderr
                    == "The target version 2023.3.13026 is older than the instance's 2024.1.11892; octoprov does not "
                    + "downgrade (roll back by restoring the upgrade backup and "
                    + (platform == "standin" ? "reinstalling" : "running the image of") + " 2024.1.11892).\n"
            )
        }
    }

    /// Without the stand-in, every upgrade step stops before acting: exit status 1, one sentence, no result.
    @Test(arguments: ["upgrade-preflight", "backup-database", "drain", "upgrade-database", "undrain"])
    func standinUpgradeStepsStopWithOneSentenceWhenNothingIsInstalled(_ step: String) throws {
        try runner.withHostileFolder { folder in
            let values = try upgradeValues(folder.root, from: "2023.3.13026", to: "2024.1.11892")
            let run = try runner.run("standin", step, values)
            #expect(run.status == 1)
            #expect(run.result == nil, "\(run.stdout)")
            #expect(run.stderr == "The stand-in is not installed in the install folder; run the install step first.\n")
        }
    }

    @Test func standinTeardownOfAnEmptyHostOnlyRemovesOctoprovsFiles() throws {
        try runner.withHostileFolder { folder in
            let values = runner.runValues(folder.root, contract: try StepContract.load())
            let nothing = try runner.run("standin", "teardown", values)
            #expect(nothing.status == 0, "\(nothing.stderr)")
            #expect(nothing.result?.changed == false)
            #expect(nothing.result?.message == "There is no instance or database to tear down.")

            // A config file and the admin and drain markers left behind: removed, the rest of the folders kept.
            let home = values["home_dir"] ?? ""
            let work = values["work_dir"] ?? ""
            try FileManager.default.createDirectory(atPath: home + "/Packages", withIntermediateDirectories: true)
            for path in [
                values["config_path"] ?? "", home + "/octoprov-admin.state", work + "/octoprov-upgrade-drained",
            ] {
                try "left".write(toFile: path, atomically: true, encoding: .utf8)
            }
            try "bak".write(toFile: work + "/prod.bak", atomically: true, encoding: .utf8)
            let removed = try runner.run("standin", "teardown", values)
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(removed.result?.changed == true)
            for path in [
                values["config_path"] ?? "", home + "/octoprov-admin.state", work + "/octoprov-upgrade-drained",
            ] {
                #expect(!FileManager.default.fileExists(atPath: path), "\(path)")
            }
            #expect(FileManager.default.fileExists(atPath: home + "/Packages"))
            #expect(FileManager.default.fileExists(atPath: work + "/prod.bak"))
            let again = try runner.run("standin", "teardown", values)
            #expect(again.status == 0 && again.result?.changed == false)
        }
    }
}
