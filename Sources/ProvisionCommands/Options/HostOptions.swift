public import ArgumentParser
import Foundation
import Logging
import Provisioning

/// Options shared by commands that act on inventory hosts.
public struct HostOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("inventory")],
        help: ArgumentHelp("The inventory file (YAML).", valueName: "file")
    )
    var inventory: String

    @Option(
        help: ArgumentHelp(
            "Hosts to act on: comma-separated host names, group names or globs, `!pattern` to exclude (default: all).",
            valueName: "pattern"
        )
    )
    var limit: String?

    @Option(help: ArgumentHelp("How many hosts to work on at once.", valueName: "n"))
    var parallel: Int = 10

    @Flag(name: .shortAndLong, help: "Print only failures and the recap.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Also print connection details and libssh2 error codes.")
    var verbose = false

    public init() {}

    public mutating func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1.") }
    }

    /// Loads the inventory and selects hosts; on bad input prints every problem and exits 64.
    func selectHosts() throws -> [InventoryHost] {
        let loaded: Inventory
        do {
            loaded = try Inventory.load(path: inventory)
        } catch {
            Console.shared.err(error.description)
            throw ExitCode(64)
        }
        do {
            return try loaded.select(limit: limit)
        } catch {
            Console.shared.err(error.description)
            throw ExitCode(64)
        }
    }

    var logger: Logger { CommandFlow.logger(verbose: verbose) }
}

/// The end-of-run summary shared by commands: one line per host, then the exit status.
struct Recap {
    enum Status: String {
        case ok
        case changed
        case failed
        case unreachable
    }

    struct Line {
        var host: String
        var status: Status
        var detail: String
        var duration: Duration
    }

    var lines: [Line] = []

    mutating func add(_ host: String, _ status: Status, _ detail: String, _ duration: Duration) {
        lines.append(Line(host: host, status: status, detail: detail, duration: duration))
    }

    /// Adds one line per host: how a host that finished went (`finished`, given its value and duration), or
    /// why it could not be reached (``Unreachable``) or failed.
    mutating func add<Value>(
        _ outcomes: [HostOutcome<Value>],
        verbose: Bool,
        finished: (Value, Duration) -> (Status, String)
    ) {
        for outcome in outcomes {
            switch outcome.result {
            case .success(let value):
                let (status, detail) = finished(value, outcome.duration)
                add(outcome.host, status, detail, outcome.duration)
            case .failure(let error as Unreachable):
                add(outcome.host, .unreachable, describe(error.error, verbose: verbose), outcome.duration)
            case .failure(let error):
                add(outcome.host, .failed, describe(error, verbose: verbose), outcome.duration)
            }
        }
    }

    func print() {
        let width = max(4, lines.map(\.host.count).max() ?? 0)
        Console.shared.err("")
        for line in lines {
            Console.shared.err(
                "\(Format.pad(line.host, width))  \(Format.pad(line.status.rawValue, 11))  "
                    + "\(Format.pad(Format.duration(line.duration), 8))  \(line.detail)"
            )
        }
    }

    /// 0 when every host succeeded, 2 when any host could not be reached or refused us (connection,
    /// host key, authentication), 1 when hosts were reached but something failed there.
    var exitCode: ExitCode {
        if lines.contains(where: { $0.status == .unreachable }) { return ExitCode(2) }
        if lines.contains(where: { $0.status == .failed }) { return ExitCode(1) }
        return .success
    }
}

/// Options of commands that read an inventory without connecting: the file and `--var` values.
struct InventoryOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("inventory")],
        help: ArgumentHelp("The inventory file (YAML).", valueName: "file")
    )
    var inventory: String

    @Option(
        name: .customLong("var"),
        help: ArgumentHelp(
            "Set a template variable, overriding the inventory's vars (repeatable): NAME=VALUE.",
            valueName: "name=value"
        )
    )
    var variables: [String] = []
}
