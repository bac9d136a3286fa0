import ArgumentParser
import Foundation
import Provisioning
import SSHKit
import Synchronization

/// `octoprov copy`: upload (or download) a file or a folder tree to every selected host.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a file or a folder tree to (or from) every selected host, resumably and verified.",
        discussion: """
            Uploads SOURCE (local) to DEST (remote) on each host. A file whose DEST ends with `/` or is an \
            existing remote folder lands inside it under its own name; a folder is copied into DEST \
            (created with its parents). Data goes to NAME.part first and is renamed once its SHA-256 \
            matches the source's (sha256sum on the host); an interrupted copy resumes from the .part's \
            size, and files already identical (size, time, checksum) are not sent again. Mode and \
            modification time are kept.

            With --download, SOURCE is the remote path and each host's copy goes to DEST/HOST/NAME, or to \
            DEST itself with --flat (one host only).

            Examples:
              octoprov copy -i lab.yml ./backup/OctopusDeploy.bak /var/octoprov/backup/
              octoprov copy -i lab.yml --limit vm1 ./TaskLogs /var/octoprov/folders/TaskLogs
              octoprov copy -i lab.yml --download /var/log/octopus ./logs
              octoprov copy -i lab.yml --limit vm1 --download --flat /etc/hostname ./vm1-hostname
            """
    )

    @OptionGroup var hosts: HostOptions

    @Flag(help: "Copy from the hosts to this machine.")
    var download = false

    @Flag(help: "With --download and one host: write to DEST itself instead of DEST/HOST/NAME.")
    var flat = false

    @Flag(help: "Do not verify SHA-256 checksums end to end (needs no sha256sum on the host).")
    var noVerify = false

    @Flag(help: "Start interrupted transfers from the beginning instead of resuming them.")
    var noResume = false

    @Argument(help: ArgumentHelp("What to copy.", valueName: "source"))
    var source: String

    @Argument(help: ArgumentHelp("Where to put it.", valueName: "dest"))
    var destination: String

    mutating func validate() throws {
        if flat && !download { throw ValidationError("--flat goes with --download.") }
        if !download && !FileManager.default.fileExists(atPath: source) {
            throw ValidationError("Nothing to upload: \(source) does not exist.")
        }
    }

    func run() async throws {
        let selected = try hosts.selectHosts()
        if flat && selected.count != 1 {
            throw ValidationError("--flat needs exactly one host, but \(selected.count) are selected; narrow --limit.")
        }
        let logger = hosts.logger
        let environment = ProcessInfo.processInfo.environment
        let quiet = hosts.quiet
        let verbose = hosts.verbose
        let progressLines = ProgressLines(enabled: !quiet)
        let options = TransferOptions(
            resume: !noResume,
            checksum: noVerify ? nil : .posixSHA256Sum,
            progress: nil
        )
        let job = CopyJob(download: download, flat: flat, source: source, destination: destination)

        let outcomes = await forEachHost(selected, name: \.name, parallel: hosts.parallel) { host in
            var hostOptions = options
            hostOptions.progress = { progress in progressLines.update(host: host.name, progress) }
            let transferOptions = hostOptions
            return try await withHostSession(host, logger: logger, environment: environment) { session in
                try await session.withSFTP { sftp in
                    try await job.run(on: sftp, host: host.name, options: transferOptions)
                }
            }
        }

        var recap = Recap()
        recap.add(outcomes, verbose: verbose) { tree, duration in
            let status: Recap.Status =
                tree.transferredBytes > 0 || tree.files.contains { !$0.skipped } ? .changed : .ok
            return (status, summary(tree, duration: duration))
        }
        recap.print()
        throw recap.exitCode
    }

    private func summary(_ tree: TreeTransferResult, duration: Duration) -> String {
        let verb = download ? "downloaded" : "uploaded"
        let fileCount = tree.files.count == 1 ? "1 file" : "\(tree.files.count) files"
        var parts = ["\(fileCount), \(Format.bytes(tree.totalBytes))"]
        let sent = tree.files.filter { !$0.skipped }
        if sent.isEmpty {
            parts.append("all unchanged")
        } else {
            parts.append(
                "\(verb) \(Format.bytes(tree.transferredBytes)) at \(Format.rate(tree.transferredBytes, over: duration))"
            )
        }
        let resumed = tree.files.reduce(UInt64(0)) { $0 + $1.resumedFromBytes }
        if resumed > 0 { parts.append("resumed after \(Format.bytes(resumed))") }
        if tree.unchangedFiles > 0 && !sent.isEmpty { parts.append("\(tree.unchangedFiles) unchanged") }
        if !noVerify { parts.append("sha256 verified") }
        if !tree.skippedSpecialFiles.isEmpty { parts.append("\(tree.skippedSpecialFiles.count) special files skipped") }
        return parts.joined(separator: ", ")
    }
}

/// Where one host's copy goes, and the transfer itself.
struct CopyJob: Sendable {
    var download: Bool
    var flat: Bool
    var source: String
    var destination: String

    func run(on sftp: SFTPClient, host: String, options: TransferOptions) async throws -> TreeTransferResult {
        let name = (source as NSString).lastPathComponent
        if download {
            guard let remote = try await sftp.attributes(at: source) else {
                throw SSHError(.sftpFailed, "Cannot download \(source) from \(host): no such file or folder.")
            }
            let target = flat ? destination : destination + "/" + host + "/" + name
            if remote.isDirectory {
                return try await sftp.downloadTree(from: source, to: target, options: options)
            }
            var tree = TreeTransferResult()
            tree.files.append(try await sftp.download(from: source, to: target, options: options))
            return tree
        }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            return try await sftp.uploadTree(from: source, to: destination, options: options)
        }
        var target = destination
        if destination.hasSuffix("/") {
            try await sftp.makeDirectories(destination)
            target = destination + name
        } else if let existing = try await sftp.attributes(at: destination), existing.isDirectory {
            target = destination + "/" + name
        }
        var tree = TreeTransferResult()
        tree.files.append(try await sftp.upload(from: source, to: target, options: options))
        return tree
    }
}

/// Progress for long transfers: one line per host every few seconds (never for short copies).
final class ProgressLines: Sendable {
    private let enabled: Bool
    private let last = Mutex([String: ContinuousClock.Instant]())
    private let started = ContinuousClock.now

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(host: String, _ progress: TransferProgress) {
        guard enabled, progress.totalBytes > 0, progress.completedBytes < progress.totalBytes else { return }
        let now = ContinuousClock.now
        let due = last.withLock { seen -> Bool in
            let previous = seen[host] ?? started
            guard previous.duration(to: now) >= .seconds(2) else { return false }
            seen[host] = now
            return true
        }
        guard due else { return }
        let percent = Double(progress.completedBytes) * 100 / Double(progress.totalBytes)
        Console.shared.err(
            "\(host): \(progress.path) \(String(format: "%.0f", percent))% "
                + "(\(Format.bytes(progress.completedBytes)) of \(Format.bytes(progress.totalBytes)))"
        )
    }
}
