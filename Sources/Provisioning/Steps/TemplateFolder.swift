import Foundation

/// Finds the templates folder: `--templates DIR` when given, else the `Templates/` folder found by walking up
/// from the executable's folder (so `.build/debug/octoprov` in a checkout finds the checkout's templates).
public enum TemplateFolder {
    /// The folder name looked for.
    public static let name = "Templates"

    /// The templates folder to use.
    ///
    /// - Parameters:
    ///   - explicit: The `--templates` value, if given (absolute or relative to the current directory).
    ///   - executablePath: The running executable's path; symbolic links are resolved.
    /// - Returns: The folder.
    /// - Throws: ``TemplateErrors`` with ``TemplateError/Code/unreadableFile`` when `explicit` is not a folder, or
    ///   when no `Templates/` folder is found above the executable (the message says to pass `--templates`).
    public static func locate(explicit: String?, executablePath: String) throws(TemplateErrors) -> String {
        let fileManager = FileManager.default
        if let explicit {
            guard isDirectory(explicit) else {
                throw TemplateErrors(
                    TemplateError(
                        .unreadableFile,
                        at: SourceLocation(file: explicit, line: 0, column: 0),
                        "`--templates` names no folder."
                    )
                )
            }
            return explicit
        }
        let resolved = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().path
        var directory = PathResolution.directory(
            of: PathResolution.normalize(
                resolved.hasPrefix("/") ? resolved : fileManager.currentDirectoryPath + "/" + resolved
            )
        )
        while true {
            let candidate = (directory == "/" ? "" : directory) + "/" + name
            if isDirectory(candidate) { return candidate }
            guard directory != "/" else { break }
            directory = PathResolution.directory(of: directory)
        }
        throw TemplateErrors(
            TemplateError(
                .unreadableFile,
                at: SourceLocation(file: resolved, line: 0, column: 0),
                "No `\(name)` folder above the octoprov executable; pass `--templates DIR`."
            )
        )
    }

    /// The running executable's path (`/proc/self/exe` on Linux, else the first argument).
    public static var currentExecutablePath: String {
        // Without /proc (not Linux, or not mounted) the first argument is the next best answer.
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return path
        }
        return CommandLine.arguments.first ?? "."
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
