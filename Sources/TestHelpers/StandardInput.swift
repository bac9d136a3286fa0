public import Foundation
import LoopbackVMs

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard input for a child process.
public enum StandardInput {
    /// A child's standard input holding `data` (what ``TestProcess`` gives its children): a file already written
    /// and rewound, never a pipe.
    ///
    /// Writing to a pipe after the child has exited raises SIGPIPE, whose default action ends this process without a
    /// word; a test process dies with no summary when a script refuses early without reading its stdin. A file has no
    /// such race: the child reads what it wants, when it wants. The file is a temporary one, unlinked before anything
    /// is written to it.
    public static func file(_ data: Data) throws -> FileHandle {
        var template = Array((NSTemporaryDirectory() + "/octoprov-stdin-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard descriptor >= 0 else {
            throw LoopbackVMError.systemCall("mkstemp", errno: errno)
        }
        // Unlinked at once: only the open descriptor (and the child's copy of it) reaches the bytes.
        _ = template.withUnsafeBufferPointer { buffer in buffer.baseAddress.map { unlink($0) } }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: data)
        try handle.seek(toOffset: 0)
        return handle
    }
}
