import Foundation
import LoopbackVMs
import SSHKit
import Synchronization
import TestHelpers
import Testing
import Wire

@Suite("SFTP transfers against real sshd", .tags(.large))
struct TransferLiveTests {
    @Test func uploadAndDownloadKeepContentModeAndTime() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let source = fixture.directory + "/source.bin"
        try LiveFixture.writeRandomFile(source, size: 5_000_123)
        chmod(source, 0o640)
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, source, &times, 0)
        let remote = vm.rootDirectory + "/deep/er/copy.bin"
        let back = fixture.directory + "/back/copy.bin"
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in
                try await sftp.makeDirectories(vm.rootDirectory + "/deep/er")
                let up = try await sftp.upload(from: source, to: remote)
                #expect(up.transferredBytes == 5_000_123)
                #expect(up.sha256?.count == 64)
                let attributes = try #require(try await sftp.attributes(at: remote))
                #expect(attributes.permissions == 0o640)
                #expect(attributes.modificationTime == 1_600_000_000)
                #expect(try await sftp.attributes(at: remote + ".part") == nil)
                let down = try await sftp.download(from: remote, to: back)
                #expect(down.sha256 == up.sha256)
                let again = try await sftp.upload(from: source, to: remote)
                #expect(again.skipped)
                #expect(again.transferredBytes == 0)
            }
        }
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: back))
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: remote))
    }

    /// A file that holds secrets arrives with the permissions asked for, not the source's, and keeps them when
    /// a later upload finds it already in place.
    @Test func askedPermissionsReplaceTheSourcesAndAreRestoredOnAFileInPlace() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let source = fixture.directory + "/backup.bak"
        try LiveFixture.writeRandomFile(source, size: 300_000)
        chmod(source, 0o644)
        let remote = vm.rootDirectory + "/backup.bak"
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in
                let options = TransferOptions(permissions: 0o600)
                let first = try await sftp.upload(from: source, to: remote, options: options)
                #expect(!first.skipped)
                #expect(try await sftp.attributes(at: remote)?.permissions == 0o600)
                // A host provisioned before: the file is in place but open to others.
                chmod(remote, 0o644)
                let second = try await sftp.upload(from: source, to: remote, options: options)
                #expect(second.skipped)
                #expect(try await sftp.attributes(at: remote)?.permissions == 0o600)
            }
        }
    }

    @Test func treesWithSubfoldersAndLinksRoundTrip() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let tree = fixture.directory + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/TaskLogs/Spaces-1", withIntermediateDirectories: true)
        for index in 0..<40 {
            try "log \(index)\n".write(
                toFile: tree + "/TaskLogs/Spaces-1/servertasks-\(index).txt",
                atomically: true,
                encoding: .utf8
            )
        }
        try LiveFixture.writeRandomFile(tree + "/package.nupkg", size: 3_000_000)
        try FileManager.default.createSymbolicLink(atPath: tree + "/latest", withDestinationPath: "package.nupkg")
        let remote = vm.rootDirectory + "/Packages"
        try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in
                let first = try await sftp.uploadTree(from: tree, to: remote)
                #expect(first.files.count == 41)
                #expect(first.symbolicLinks == 1)
                let second = try await sftp.uploadTree(from: tree, to: remote)
                #expect(second.unchangedFiles == 41)
                #expect(second.transferredBytes == 0)
                let back = try await sftp.downloadTree(from: remote, to: fixture.directory + "/back")
                #expect(back.files.count == 41)
            }
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: remote + "/latest") == "package.nupkg")
        #expect(FileManager.default.contentsEqual(atPath: tree, andPath: fixture.directory + "/back"))
    }

    /// A 256 MiB upload loses its connection half-way (the sshd child serving it is killed); the next
    /// upload resumes from the .part and ends byte-identical without sending the first half again.
    @Test func interruptedUploadResumesWithoutResendingTheFirstHalf() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let size = 256 << 20
        let source = fixture.directory + "/big.bin"
        try LiveFixture.writeRandomFile(source, size: size)
        let remote = vm.rootDirectory + "/big.bin"
        let killed = Mutex(false)
        let interrupted = TransferOptions { progress in
            guard progress.completedBytes >= UInt64(size / 2) else { return }
            let first = killed.withLock { done -> Bool in
                defer { done = true }
                return !done
            }
            if first { vm.killConnections() }
        }
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(fixture.configuration(for: vm, idleTimeout: .seconds(10))) { session in
                try await session.withSFTP { sftp in
                    try await sftp.upload(from: source, to: remote, options: interrupted)
                }
            }
        }
        #expect(error?.code == .disconnected || error?.code == .sftpFailed || error?.code == .channelFailed)
        let partSize = try #require(try FileManager.default.attributesOfItem(atPath: remote + ".part")[.size] as? Int)
        #expect(partSize >= size / 2 - (16 << 20))
        #expect(!FileManager.default.fileExists(atPath: remote))

        let resumed = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in try await sftp.upload(from: source, to: remote) }
        }
        #expect(resumed.resumedFromBytes == UInt64(partSize))
        #expect(resumed.transferredBytes == UInt64(size - partSize))
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: remote))
        #expect(!FileManager.default.fileExists(atPath: remote + ".part"))
    }

    @Test func aStalePartFromAnotherFileIsDiscardedAndTheUploadStillVerifies() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let source = fixture.directory + "/data.bin"
        try LiveFixture.writeRandomFile(source, size: 2_000_000)
        let remote = vm.rootDirectory + "/data.bin"
        try LiveFixture.writeRandomFile(remote + ".part", size: 1_000_000)
        let result = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in try await sftp.upload(from: source, to: remote) }
        }
        #expect(result.resumedFromBytes == 0)
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: remote))
    }

    @Test func interruptedDownloadResumes() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let remote = vm.rootDirectory + "/backup.bak"
        try LiveFixture.writeRandomFile(remote, size: 64 << 20)
        let local = fixture.directory + "/backup.bak"
        // Simulate an earlier interrupted download: the first 20 MiB already in local .part.
        let prefix = try FileHandle(forReadingFrom: URL(fileURLWithPath: remote)).read(upToCount: 20 << 20) ?? Data()
        _ = FileManager.default.createFile(atPath: local + ".part", contents: prefix)
        let result = try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
            try await session.withSFTP { sftp in try await sftp.download(from: remote, to: local) }
        }
        #expect(result.resumedFromBytes == 20 << 20)
        #expect(result.transferredBytes == 44 << 20)
        #expect(FileManager.default.contentsEqual(atPath: remote, andPath: local))
    }

    @Test func missingRemoteFileIsOneClearSentence() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.withConnection(fixture.configuration(for: vm)) { session in
                try await session.withSFTP { sftp in
                    try await sftp.download(from: "/nonexistent/file", to: fixture.directory + "/x")
                }
            }
        }
        #expect(error?.message == "Cannot download /nonexistent/file from vm1 (127.0.0.1:\(vm.port)): no such file.")
    }
}

@Suite("port forwarding against real sshd", .tags(.large))
struct ForwardLiveTests {
    @Test func aLocalPortReachesAServiceOnTheVM() async throws {
        let fixture = try LiveFixture()
        defer { fixture.close() }
        let vm = try fixture.startVM()
        // A service listening only on the VM's side: python's HTTP server on a free loopback port.
        try "octopus says hi\n".write(toFile: vm.rootDirectory + "/api.txt", atomically: true, encoding: .utf8)
        let port = try Loopback.freePort(address: "127.0.0.1")
        // LoopbackVMs' ChildProcess, not Foundation's Process: it reaps and stops its child reliably.
        let server = try ChildProcess.launch(
            "/usr/bin/python3",
            ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", vm.rootDirectory],
            outputPath: fixture.directory + "/http.log"
        )
        defer { server.terminate() }
        try waitForPort(port, timeout: .seconds(10))

        try await LocalPortForward.withForward(fixture.configuration(for: vm), remotePort: port) { forward in
            #expect(forward.localPort != port)
            // Several requests at once over the one SSH connection.
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 {
                    group.addTask { try httpGet(port: forward.localPort, path: "/api.txt") }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(bodies.count == 5)
            #expect(bodies.allSatisfy { $0.hasSuffix("octopus says hi\n") })
        }
    }
}

/// A minimal HTTP/1.0 GET over a plain socket (no URLSession on purpose: fewer moving parts).
func httpGet(port: Int, path: String) throws -> String {
    let fd: Int32
    do {
        fd = try POSIXSocket.connect(to: POSIXSocket.loopback, port: port, timeout: 10, blocking: true)
    } catch {
        throw SSHError(.connectionFailed, "Cannot connect to the forwarded port \(port).")
    }
    defer { close(fd) }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        response.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: response, as: UTF8.self)
}

/// Waits until something accepts connections on 127.0.0.1:port.
func waitForPort(_ port: Int, timeout: Duration) throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if let fd = try? POSIXSocket.connect(to: POSIXSocket.loopback, port: port, timeout: 1) {
            close(fd)
            return
        }
        usleep(50_000)
    }
    throw SSHError(.timedOut, "Nothing listened on 127.0.0.1:\(port) within \(timeout).")
}
