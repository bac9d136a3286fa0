import Foundation
import OctopusStandIn

/// The stand-in's one executable, multi-call like busybox. Its role comes from the name it is run by:
/// `Octopus.Server` (or `Octopus.Server.exe`) plays Octopus Server, `Octopus.Migrator` (or
/// `Octopus.Migrator.exe`) its Migrator, `sqlcmd` plays SQL Server's sqlcmd; as `octopus-standin` the first
/// argument names the role: `Octopus.Server …`, `Octopus.Migrator …`, `sqlcmd …`,
/// `create-sql-server NAME` (plays installing SQL Server) or `version`.
@main
struct Entrypoint {
    static func main() {
        let argv0 = CommandLine.arguments.first ?? "octopus-standin"
        var arguments = Array(CommandLine.arguments.dropFirst())
        let program = (argv0 as NSString).lastPathComponent
        var role = program.lowercased()
        var invokedAsStandIn = false
        if role == "octopus-standin" {
            guard let first = arguments.first else {
                usage()
                exit(64)
            }
            role = first.lowercased()
            arguments.removeFirst()
            invokedAsStandIn = true
        }
        let environment = ProcessInfo.processInfo.environment
        switch role {
        case "sqlcmd", "sqlcmd.exe":
            exit(sqlcmd(arguments, environment: environment))
        case "octopus.server", "octopus.server.exe":
            exit(octopusServer(arguments, argv0: argv0, asStandIn: invokedAsStandIn, environment: environment))
        case "octopus.migrator", "octopus.migrator.exe":
            let migrator = MigratorCLI(
                version: StandInPackage.version(argv0: argv0, environment: environment),
                dataFolder: DataFolder(environment: environment),
                environment: environment
            )
            exit(migrator.run(arguments, output: standardOutput, errorOutput: standardError))
        case "seed" where invokedAsStandIn:
            exit(
                SeedCommand.run(
                    arguments,
                    environment: ProcessInfo.processInfo.environment,
                    output: standardOutput,
                    errorOutput: standardError
                )
            )
        case "create-sql-server" where invokedAsStandIn:
            exit(createSQLServer(arguments, environment: environment))
        case "version" where invokedAsStandIn, "--version" where invokedAsStandIn:
            switch StandInPackage.version(argv0: argv0, environment: environment) {
            case .success(let version):
                print(version)
                exit(0)
            case .failure(let error):
                standardError(error.message)
                exit(1)
            }
        case "help" where invokedAsStandIn, "--help" where invokedAsStandIn:
            usage()
            exit(0)
        default:
            standardError("octopus-standin: '\(role)' is not a role of the stand-in.")
            usage()
            exit(64)
        }
    }

    static func usage() {
        standardError(
            """
            Usage: octopus-standin Octopus.Server <command> [<options>]   (or a link named Octopus.Server)
                   octopus-standin Octopus.Migrator partial-export|import [<options>]   (or a link named \
            Octopus.Migrator)
                   octopus-standin sqlcmd [-S server] [-d database] [-E | -U user [-P password]] \
            (-i file … | -Q query) [-b] [-v name=value …]   (or a link named sqlcmd)
                   octopus-standin create-sql-server NAME
                   octopus-standin version
            Data folder: $OCTOPUS_STANDIN_DATA (default /var/lib/octopus-standin). The version is read from the \
            package's VERSION file, ../VERSION from the folder the binary is run from.
            """
        )
    }

    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    static func standardOutput(_ line: String) {
        FileHandle.standardOutput.write(Data("\(line)\n".utf8))
    }

    static func sqlcmd(_ arguments: [String], environment: [String: String]) -> Int32 {
        let options: SqlcmdOptions
        do {
            options = try SqlcmdOptions.parse(arguments, environment: environment)
        } catch {
            standardError("\(error)")
            return 1
        }
        let runner = Sqlcmd(
            options: options,
            dataFolder: DataFolder(environment: environment),
            environment: environment
        )
        return runner.run(output: standardOutput)
    }

    static func octopusServer(
        _ arguments: [String],
        argv0: String,
        asStandIn: Bool,
        environment: [String: String]
    ) -> Int32 {
        // Run again the way we were run (symbolic links kept, so the child finds the same VERSION file).
        var invoked = StandInPackage.invokedPath(argv0: argv0, environment: environment) ?? argv0
        if !invoked.hasPrefix("/") { invoked = "\(FileManager.default.currentDirectoryPath)/\(invoked)" }
        let cli = OctopusServerCLI(
            version: StandInPackage.version(argv0: argv0, environment: environment),
            dataFolder: DataFolder(environment: environment),
            environment: environment,
            selfInvocation: asStandIn ? [invoked, "Octopus.Server"] : [invoked],
            serve: { runtime in
                // Serves until SIGTERM/SIGINT (`service --stop` sends SIGTERM to the PID in standin.pid).
                try StandInServer(runtime: runtime).runUntilTerminated()
            }
        )
        return cli.run(arguments, output: standardOutput, errorOutput: standardError)
    }

    static func createSQLServer(_ arguments: [String], environment: [String: String]) -> Int32 {
        guard arguments.count == 1, let name = arguments.first, !name.hasPrefix("-") else {
            standardError("Usage: octopus-standin create-sql-server NAME (e.g. localhost or localhost\\SQLEXPRESS)")
            return 64
        }
        let dataFolder = DataFolder(environment: environment)
        let existed = dataFolder.serverExists(name)
        do {
            try dataFolder.createServer(name)
        } catch {
            standardError("\(error)")
            return 1
        }
        standardOutput(
            existed
                ? "SQL Server '\(name)' is already installed (\(dataFolder.serverFolder(name)))."
                : "SQL Server '\(name)' installed (\(dataFolder.serverFolder(name)))."
        )
        return 0
    }
}
