public import Foundation
public import LoopbackVMs

/// What a program run by ``TestProcess/run(_:_:environment:currentDirectory:input:timeout:)`` left behind.
public struct ProcessOutput: Sendable {
    /// The exit code, or 128 + the signal number if a signal ended the program.
    public var status: Int32
    /// Its standard output.
    public var stdout: String
    /// Its standard error.
    public var stderr: String
}

/// The test targets' one process runner: `posix_spawn` through LoopbackVMs' ``ChildProcess`` (never Foundation's
/// `Process`, which on Linux can hang every later `waitUntilExit()` once a child closes the descriptors it
/// inherited; see ``ChildProcess``), stdout and stderr to files read back at the end (no pipe can fill up), stdin a
/// file (a child that exits without reading it cannot SIGPIPE the tests), and a timeout after which the program is
/// killed.
public enum TestProcess {
    /// Runs `executable` to completion.
    ///
    /// - Parameters:
    ///   - executable: An absolute path (see ``BuiltProducts`` and ``ChildProcess/locate(_:)``).
    ///   - arguments: Its arguments.
    ///   - environment: Its whole environment (`nil`: this process's).
    ///   - currentDirectory: Where it runs (`nil`: this process's current folder).
    ///   - input: Its standard input (`nil`: /dev/null).
    ///   - timeout: Seconds after which it is killed (SIGKILL); it then reports 137.
    /// - Returns: Its exit status and output.
    /// - Throws: ``LoopbackVMError`` when it cannot be started.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        input: Data? = nil,
        timeout: TimeInterval = 600
    ) throws -> ProcessOutput {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-run-\(UUID().uuidString)")
        let outputPath = base.path + ".out"
        let errorPath = base.path + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outputPath)
            try? FileManager.default.removeItem(atPath: errorPath)
        }
        let stdin = try input.map { try StandardInput.file($0) }
        let child = try ChildProcess.launch(
            executable,
            arguments,
            environment: environment,
            outputPath: outputPath,
            errorPath: errorPath,
            input: stdin?.fileDescriptor,
            workingDirectory: currentDirectory
        )
        try stdin?.close()
        if !child.waitForExit(timeout: timeout) {
            child.send(SIGKILL)
            child.waitForExit(timeout: 10)
        }
        return ProcessOutput(
            status: child.exitStatus ?? -1,
            stdout: String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self)
        )
    }

    /// Starts `executable` and returns at once, stdout and stderr appended to `outputPath` (`nil`: /dev/null): for
    /// helpers that hold something (a lock, a port) while a test runs. Dropping the object kills the program.
    /// - Throws: ``LoopbackVMError`` when it cannot be started.
    public static func start(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        outputPath: String? = nil
    ) throws -> ChildProcess {
        try ChildProcess.launch(executable, arguments, environment: environment, outputPath: outputPath)
    }
}
