import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a directory-tree transfer did.
public struct TreeTransferResult: Sendable {
    public var files: [TransferResult] = []
    public var directories = 0
    public var symbolicLinks = 0
    /// Paths that are neither files, directories nor links (sockets, FIFOs, devices): not copied.
    public var skippedSpecialFiles: [String] = []

    public init() {}

    public var totalBytes: UInt64 { files.reduce(0) { $0 + $1.size } }
    public var transferredBytes: UInt64 { files.reduce(0) { $0 + $1.transferredBytes } }
    public var unchangedFiles: Int { files.filter(\.skipped).count }
}

extension SFTPClient {
    /// Uploads the tree under `localDirectory` into `remoteDirectory` (created, with parents): files as
    /// ``upload(from:to:options:)`` does (resumable, verified, unchanged files skipped), directories with
    /// their modes, symbolic links as links.
    public func uploadTree(
        from localDirectory: String,
        to remoteDirectory: String,
        options: TransferOptions = TransferOptions()
    )
        async throws -> TreeTransferResult
    {
        try await session.perform { _ in
            var walk = TreeWalk(batchSize: Self.treeBatchSize)
            try self.uploadDirectory(localDirectory, to: remoteDirectory, options: options, into: &walk)
            try self.flushUploads(&walk, options: options)
            return walk.result
        }
    }

    /// Downloads the tree under `remoteDirectory` into `localDirectory`, the mirror of
    /// ``uploadTree(from:to:options:)``.
    public func downloadTree(
        from remoteDirectory: String,
        to localDirectory: String,
        options: TransferOptions = TransferOptions()
    )
        async throws -> TreeTransferResult
    {
        try await session.perform { _ in
            var walk = TreeWalk(batchSize: Self.treeBatchSize)
            try self.downloadDirectory(remoteDirectory, to: localDirectory, options: options, into: &walk)
            try self.flushDownloads(&walk, options: options)
            return walk.result
        }
    }

    private func uploadDirectory(
        _ local: String,
        to remote: String,
        options: TransferOptions,
        into walk: inout TreeWalk
    ) throws(SSHError) {
        guard let info = try LocalFile.info(local, followLinks: true), info.isDirectory else {
            throw SSHError(.localIOFailed, "Cannot upload \(local) as a tree: it is not a directory.")
        }
        try mkdirs(remote, mode: 0o755)
        walk.result.directories += 1
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: local).sorted()
        } catch {
            throw SSHError(.localIOFailed, "Cannot list \(local): \(error.localizedDescription).")
        }
        for name in names where !name.hasSuffix(".part") {
            let source = local + "/" + name
            let destination = remote + "/" + name
            try session.checkCancelled(during: "the upload of \(local)")
            guard let entry = try LocalFile.info(source) else { continue }
            if entry.isDirectory {
                try uploadDirectory(source, to: destination, options: options, into: &walk)
            } else if entry.isRegularFile {
                walk.pending.append((source, destination))
                if walk.pending.count >= walk.batchSize { try flushUploads(&walk, options: options) }
            } else if entry.isSymbolicLink {
                let target: String
                do {
                    target = try FileManager.default.destinationOfSymbolicLink(atPath: source)
                } catch {
                    throw SSHError(.localIOFailed, "Cannot read link \(source): \(error.localizedDescription).")
                }
                if let existing = try stat(destination, followLinks: false) {
                    if existing.isSymbolicLink, try readLink(destination) == target {
                        walk.result.symbolicLinks += 1
                        continue
                    }
                    try unlink(destination, ignoreMissing: true)
                }
                try makeSymlink(at: destination, pointingTo: target)
                walk.result.symbolicLinks += 1
            } else {
                walk.result.skippedSpecialFiles.append(source)
            }
        }
        if options.preserveAttributes {
            try setAttributes(remote, mode: info.mode, modificationTime: nil, accessTime: nil)
        }
    }

    private func downloadDirectory(
        _ remote: String,
        to local: String,
        options: TransferOptions,
        into walk: inout TreeWalk
    ) throws(SSHError) {
        guard let info = try stat(remote), info.isDirectory else {
            throw SSHError(.sftpFailed, "Cannot download \(remote) from \(hostLabel) as a tree: it is not a directory.")
        }
        try LocalFile.makeDirectories(local)
        walk.result.directories += 1
        for (name, entry) in try listDirectory(remote) where !name.hasSuffix(".part") {
            let source = remote + "/" + name
            let destination = local + "/" + name
            try session.checkCancelled(during: "the download of \(remote)")
            if entry.isDirectory {
                try downloadDirectory(source, to: destination, options: options, into: &walk)
            } else if entry.isRegularFile {
                walk.pending.append((source, destination))
                if walk.pending.count >= walk.batchSize { try flushDownloads(&walk, options: options) }
            } else if entry.isSymbolicLink {
                let target = try readLink(source)
                if let current = try? FileManager.default.destinationOfSymbolicLink(atPath: destination),
                    current == target
                {
                    walk.result.symbolicLinks += 1
                    continue
                }
                Glibc.unlink(destination)
                guard symlink(target, destination) == 0 else {
                    throw LocalFile.ioError("create symbolic link", destination)
                }
                walk.result.symbolicLinks += 1
            } else {
                walk.result.skippedSpecialFiles.append(source)
            }
        }
        if options.preserveAttributes {
            guard chmod(local, mode_t(info.permissions)) == 0 else { throw LocalFile.ioError("set the mode of", local) }
        }
    }

    /// Files per batch: one checksum command verifies a whole batch.
    static let treeBatchSize = 200

    private func flushUploads(_ walk: inout TreeWalk, options: TransferOptions) throws(SSHError) {
        guard !walk.pending.isEmpty else { return }
        walk.result.files += try uploadBatch(walk.pending, options: options)
        walk.pending.removeAll()
    }

    private func flushDownloads(_ walk: inout TreeWalk, options: TransferOptions) throws(SSHError) {
        guard !walk.pending.isEmpty else { return }
        walk.result.files += try downloadBatch(walk.pending, options: options)
        walk.pending.removeAll()
    }
}

/// A tree transfer in progress: what is done, and the files waiting for their batch.
struct TreeWalk {
    let batchSize: Int
    var result = TreeTransferResult()
    /// (source, destination) pairs not yet transferred.
    var pending: [(String, String)] = []
}
