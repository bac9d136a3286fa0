import ArgumentParser
import Foundation
import Logging
import Provisioning
import SSHKit
import Synchronization

/// `octoprov exec`: run one command on every selected host.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command on every selected host over SSH.",
        discussion: """
            Each line of output is printed as it arrives, prefixed by the host's name: standard output \
            as `HOST | line` on stdout, standard error as `HOST ! line` on stderr. A recap with one line \
            per host follows on stderr.

            Exit status: 0 when the command exited 0 everywhere, 1 when it failed (non-zero exit, signal \
            or timeout) on some host, 2 when some host could not be reached or refused the connection \
            (network, host key, authentication), 64 for invalid input.

            Examples:
              octoprov exec -i Inventories/lab.yml -- uname -a
              octoprov exec -i lab.yml --limit 'vm*,!vm3' --parallel 2 -- 'df -h / && free -m'
              octoprov exec -i lab.yml --timeout 30 -- systemctl is-active octopus
            """
    )

    @OptionGroup var hosts: HostOptions

    @Option(help: ArgumentHelp("Stop waiting for the command after this many seconds.", valueName: "seconds"))
    var timeout: Double?

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The command, after `--`; run by the user's shell on each host.", valueName: "command")
    )
    var command: [String] = []

    mutating func validate() throws {
        if command.first == "--" { command.removeFirst() }
        guard !command.isEmpty else { throw ValidationError("Give the command to run after `--`.") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds.") }
    }

    func run() async throws {
        let selected = try hosts.selectHosts()
        let logger = hosts.logger
        let environment = ProcessInfo.processInfo.environment
        let commandLine = command.joined(separator: " ")
        let quiet = hosts.quiet
        let verbose = hosts.verbose
        let limit = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }

        let outcomes = await forEachHost(selected, name: \.name, parallel: hosts.parallel) { host in
            try await withHostSession(host, logger: logger, environment: environment) { session in
                let printer = HostOutputPrinter(host: host.name, quiet: quiet)
                defer { printer.finish() }
                return try await session.run(
                    commandLine,
                    options: ExecOptions(timeout: limit, collectOutput: false) { stream, chunk in
                        printer.feed(stream, chunk)
                    }
                )
            }
        }

        var recap = Recap()
        recap.add(outcomes, verbose: verbose) { result, _ in
            (result.succeeded ? .ok : .failed, result.statusDescription)
        }
        recap.print()
        throw recap.exitCode
    }
}

/// Connects to an inventory host, runs `body`, and closes the session on every path. A failure to
/// connect (network, host key, authentication) is thrown as ``Unreachable``.
func withHostSession<T: Sendable>(
    _ host: InventoryHost,
    logger: Logger,
    environment: [String: String],
    _ body: (SSHSession) async throws -> T
) async throws -> T {
    let session: SSHSession
    do {
        session = try await SSHSession.connect(host.sshConfiguration(logger: logger, environment: environment))
    } catch {
        throw Unreachable(error: error)
    }
    return try await session.closing(after: body)
}

/// Prints one host's output line by line with its name in front.
final class HostOutputPrinter: Sendable {
    private let host: String
    private let quiet: Bool
    private let splitters = Mutex([LineSplitter(), LineSplitter()])

    init(host: String, quiet: Bool) {
        self.host = host
        self.quiet = quiet
    }

    func feed(_ stream: SSHKit.OutputStream, _ chunk: [UInt8]) {
        let index = stream == .stdout ? 0 : 1
        let lines = splitters.withLock { $0[index].feed(chunk) }
        for line in lines { emit(stream, line) }
    }

    func finish() {
        let last = splitters.withLock { [$0[0].finish(), $0[1].finish()] }
        if let out = last[0] { emit(.stdout, out) }
        if let err = last[1] { emit(.stderr, err) }
    }

    private func emit(_ stream: SSHKit.OutputStream, _ line: String) {
        switch stream {
        case .stdout: if !quiet { Console.shared.out("\(host) | \(line)") }
        case .stderr: Console.shared.err("\(host) ! \(line)")
        }
    }
}
