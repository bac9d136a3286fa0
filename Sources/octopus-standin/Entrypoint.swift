import Foundation
import OctopusStandIn

/// The stand-in's one executable, multi-call like busybox: installed (or linked) as `sqlcmd` it is
/// sqlcmd; `octopus-standin sqlcmd …` does the same. `Octopus.Server` comes in a later piece.
@main
struct Entrypoint {
    static func main() {
        var arguments = CommandLine.arguments
        let program = (arguments.first.map { ($0 as NSString).lastPathComponent } ?? "octopus-standin")
        arguments.removeFirst(min(1, arguments.count))
        var role = program.lowercased()
        if role == "octopus-standin" {
            guard let first = arguments.first else {
                usage()
                exit(64)
            }
            role = first.lowercased()
            arguments.removeFirst()
        }
        switch role {
        case "sqlcmd", "sqlcmd.exe":
            exit(sqlcmd(arguments))
        default:
            FileHandle.standardError.write(Data("octopus-standin: '\(role)' is not a role of the stand-in.\n".utf8))
            usage()
            exit(64)
        }
    }

    static func usage() {
        let text = """
            Usage: octopus-standin sqlcmd [-S server] [-d database] [-E | -U user [-P password]] \
            (-i file … | -Q query) [-b] [-v name=value …]
              or run it through a link named sqlcmd. Data folder: $OCTOPUS_STANDIN_DATA \
            (default /var/lib/octopus-standin).

            """
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func sqlcmd(_ arguments: [String]) -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let options: SqlcmdOptions
        do {
            options = try SqlcmdOptions.parse(arguments, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
        let runner = Sqlcmd(
            options: options,
            dataFolder: DataFolder(environment: environment),
            environment: environment
        )
        let status = runner.run { line in print(line) }
        return status
    }
}
