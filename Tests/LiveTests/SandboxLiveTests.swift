import Foundation
import LoopbackVMs
import Sandbox
import TestHelpers
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// `octoprov sandbox up/status/down` through the built binary: real sshd VMs, real listeners, real processes.
@Suite("octoprov sandbox", .tags(.large))
struct SandboxLiveTests {
    @Test func upRunsThreeVMsThatExecReachesAndDownLeavesNoProcess() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-sbx-\(UUID().uuidString)")
        let directory = base.path
        defer { try? FileManager.default.removeItem(at: base) }

        let up = try await octoprov(["sandbox", "up", "--vms", "3", "--dir", directory])
        #expect(up.status == 0, "\(up.stderr)")
        let layout = SandboxLayout(directory: directory)
        let state = try #require(SandboxState.read(from: layout))
        // Whatever happens below, never leave the sandbox running.
        defer { _ = try? SandboxControl.down(layout) }
        #expect(state.status == .ready)
        #expect(state.vms.map(\.name) == ["vm1", "vm2", "vm3"])
        #expect(up.stdout.contains("inventory: \(layout.inventoryPath)"))

        // The mirror: a reproducible, checksummed tarball per version, stamped with its version.
        #expect(state.packageVersions == SandboxOptions.extraVersions + [SandboxOptions.defaultProductionVersion])
        let verified = try ChildProcess.run(
            "/bin/bash",
            ["-c", "cd \(layout.mirrorDirectory) && sha256sum -c *.sha256"]
        )
        #expect(verified.exitStatus == 0, "\(verified.output)")
        let production = "octopus-standin-\(SandboxOptions.defaultProductionVersion)"
        let listing = try ChildProcess.run("/bin/tar", ["-tvzf", "\(layout.mirrorDirectory)/\(production).tar.gz"])
        for entry in ["\(production)/VERSION", "\(production)/bin/octopus-standin", "bin/sqlcmd -> octopus-standin"] {
            #expect(listing.output.contains(entry), "\(listing.output)")
        }

        let again = try await octoprov(["sandbox", "up", "--vms", "1", "--dir", directory])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already runs in \(directory)"))

        // The seeded production and an inventory that checks clean, with a clone instance of it.
        #expect(state.productionVersion == SandboxOptions.defaultProductionVersion)
        for file in ["OctopusDeploy.bak", "master-key", "seed.json", "folders/TaskLogs"] {
            #expect(FileManager.default.fileExists(atPath: "\(layout.productionDirectory)/\(file)"), "\(file)")
        }
        // Production runs as an instance of its own, answering on its address.
        let productionURL = try #require(state.productionURL)
        #expect(productionURL.hasPrefix("http://\(SandboxOptions.productionAddress):"))
        let pidFile = try #require(state.productionPIDFile)
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
        let productionPID = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isRunning(productionPID))

        let check = try await octoprov(["inventory", "check", "-i", layout.inventoryPath])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("sandbox-clone"))

        let exec = try await octoprov(["exec", "-i", layout.inventoryPath, "--", "true"])
        #expect(exec.status == 0, "\(exec.stderr)")
        for vm in state.vms { #expect(exec.stderr.contains("\(vm.name)   ok")) }

        // A contact with a "production" listener is recorded and shown.
        let webhooks = try #require(state.listeners.first { $0.role == "webhooks" })
        try postHTTP(address: webhooks.address, port: webhooks.port)
        let status = try await octoprov(["sandbox", "status", "--dir", directory])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(
            status.stdout.contains(
                "production webhooks  \(webhooks.address):\(webhooks.port)  contacts from outside production: 1"
            ),
            "\(status.stdout)"
        )
        #expect(status.stdout.contains("production instance  \(productionURL)  running"))

        // A process a session leaves behind, detached from it, must not survive `down`.
        let detached = try await octoprov([
            "exec", "-i", layout.inventoryPath, "--limit", "vm2", "--",
            "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!",
        ])
        #expect(detached.status == 0)
        let sleeper = try #require(Int32(detached.stdout.split(separator: "|").last?.trimmed ?? ""))
        #expect(kill(sleeper, 0) == 0)

        let down = try await octoprov(["sandbox", "down", "--dir", directory])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory))
        let leftovers = [state.supervisorPID, sleeper, productionPID] + state.vms.map(\.sshdPID)
        for pid in leftovers {
            #expect(!isRunning(pid), "process \(pid) outlived `sandbox down`")
        }
        for vm in state.vms {
            #expect(LoopbackVM.processes(ofVMWithRoot: vm.rootDirectory).isEmpty)
        }
        let nothing = try await octoprov(["sandbox", "status", "--dir", directory])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("No sandbox in \(directory)"))
    }

    @Test func downRefusesAFolderThatIsNotASandbox() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-notsbx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try Data("keep me".utf8).write(to: base.appendingPathComponent("precious.txt"))
        let down = try await octoprov(["sandbox", "down", "--dir", base.path])
        #expect(down.status == 1)
        #expect(down.stderr.contains("not a sandbox folder"))
        #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent("precious.txt").path))
        let up = try await octoprov(["sandbox", "up", "--dir", base.path])
        #expect(up.status == 1)
        #expect(up.stderr.contains("is not a sandbox folder"))
    }

    private func postHTTP(address: String, port: Int) throws {
        let target = try #require(POSIXSocket.dottedQuad(address))
        let descriptor = try POSIXSocket.connect(to: target, port: port, timeout: 10, blocking: true)
        defer { close(descriptor) }
        let request = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        _ = request.withCString { write(descriptor, $0, strlen($0)) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(descriptor, &buffer, buffer.count)
        #expect(String(decoding: buffer[..<max(count, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 200 OK"))
    }

    private func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }
}

extension Substring {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
