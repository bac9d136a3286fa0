/// What kind of machine a host is, as named in an inventory's `platform`: it chooses the template folder
/// (`Templates/<platform>/`), the script language and the platform defaults of docs/steps.md.
public enum Platform: String, Sendable, Hashable, CaseIterable, CustomStringConvertible, Comparable {
    /// Windows Server over OpenSSH: PowerShell scripts, the MSI, `Octopus.Server.exe`, SQL Server.
    case windows
    /// A Linux VM with Docker running the `octopusdeploy/octopusdeploy` image.
    case linuxContainer = "linux-container"
    /// A Linux VM with bash running octoprov's Octopus stand-in (what the tests provision end to end).
    case standin

    /// The name as written in an inventory and as the template folder's name.
    public var description: String { rawValue }

    /// Orders platforms as ``allCases`` lists them.
    public static func < (lhs: Platform, rhs: Platform) -> Bool {
        let order = allCases
        return (order.firstIndex(of: lhs) ?? 0) < (order.firstIndex(of: rhs) ?? 0)
    }

    /// The language of this platform's step scripts.
    public var scriptLanguage: TemplateLanguage {
        self == .windows ? .powerShell : .bash
    }

    /// Whether host paths are Windows paths (`C:\…`, joined with `\`).
    public var usesWindowsPaths: Bool { self == .windows }

    /// `components` joined to `base` with the platform's separator, without doubling a separator.
    ///
    /// - Parameters:
    ///   - base: A host folder.
    ///   - components: Names to append.
    /// - Returns: The joined host path.
    public func join(_ base: String, _ components: String...) -> String {
        let separator: Character = usesWindowsPaths ? "\\" : "/"
        var result = base
        for component in components {
            if !result.hasSuffix(String(separator)) { result.append(separator) }
            result += component
        }
        return result
    }

    /// Whether `path` is an absolute host path for this platform (`C:\…` or `\\server\…` on Windows, `/…`
    /// elsewhere).
    public func isAbsolutePath(_ path: String) -> Bool {
        if usesWindowsPaths {
            let scalars = Array(path.unicodeScalars)
            if path.hasPrefix("\\\\") { return true }
            return scalars.count >= 3 && scalars[0].properties.isAlphabetic && scalars[0].isASCII
                && scalars[1] == ":" && (scalars[2] == "\\" || scalars[2] == "/")
        }
        return path.hasPrefix("/")
    }

    /// The private folder for scripts, SQL and uploads on the host (`work_dir`'s default).
    public var defaultWorkDirectory: String {
        usesWindowsPaths ? "C:\\ProgramData\\octoprov" : "/var/tmp/octoprov"
    }

    /// The Octopus home folder (`home_dir`'s default).
    public var defaultHomeDirectory: String {
        usesWindowsPaths ? "C:\\Octopus" : "/var/lib/octopus"
    }

    /// Where the Octopus binaries are (`install_dir`'s default): the MSI's folder, the container's `/Octopus`,
    /// or the stand-in's install folder.
    public var defaultInstallDirectory: String {
        switch self {
        case .windows: "C:\\Program Files\\Octopus Deploy\\Octopus"
        case .linuxContainer: "/Octopus"
        case .standin: "/opt/octopus-standin"
        }
    }

    /// The SQL Server data folder for restored databases (`data_dir`'s default): SQL Server 2022's default
    /// instance on Windows, SQL Server on Linux's folder elsewhere. Set the host var `data_dir` for another
    /// SQL Server version or instance.
    public var defaultDataDirectory: String {
        usesWindowsPaths
            ? "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA" : "/var/opt/mssql/data"
    }

    /// The install package's file name for `version`, as a `package.mirror` folder must hold it.
    ///
    /// - `windows`: `Octopus.<version>-x64.msi`, the name Octopus publishes its MSIs under.
    /// - `linux-container`: `octopusdeploy-<version>.tar`, a `docker save` of the image.
    /// - `standin`: `octopus-standin-<version>.tar.gz`, the stand-in's install package.
    ///
    /// - Parameter version: The pinned version.
    /// - Returns: The file name.
    public func packageFileName(for version: OctopusVersion) -> String {
        switch self {
        case .windows: "Octopus.\(version)-x64.msi"
        case .linuxContainer: "octopusdeploy-\(version).tar"
        case .standin: "octopus-standin-\(version).tar.gz"
        }
    }
}
