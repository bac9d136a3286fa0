import Foundation
import Yams

/// The keys an instance spec may have.
enum InstanceKey: String, CaseIterable {
    case mode
    case hosts
    case version
    case package
    case backup
    case masterKey = "master_key"
    case folders
    case source
    case quarantine
    case verify
    case instanceName = "instance_name"
    case nodeName = "node_name"
    case homeDir = "home_dir"
    case containerName = "container_name"
    case database
    case webListenPrefix = "web_listen_prefix"
    case commsPort = "comms_port"
    case serverUri = "server_uri"
    case admin
    case license
    case production

    /// The mode a key belongs to, when only one.
    var mode: InstanceMode? {
        switch self {
        case .backup, .masterKey, .folders, .production: .clone
        case .source: .testInstance
        default: nil
        }
    }
}

/// The keys of `package:`.
enum PackageKey: String, CaseIterable {
    case sha256
    case url
    case file
    case mirror
}

/// The keys of a test instance's `source:`.
enum SourceKey: String, CaseIterable {
    case url
    case apiKey = "api_key"
    case space
    case projects
    case exportPassword = "export_password"
    case host
    case exportFile = "export_file"
}

/// The keys of `admin:`.
enum AdminKey: String, CaseIterable {
    case username
    case email
    case password
}

extension InventoryParser {
    /// Reads `instances:`, checking every spec against the hosts and groups already read.
    mutating func instances(_ entry: Entry, inventory: Inventory) -> [InstanceSpec] {
        guard let specEntries = entries(of: entry.value, at: "`instances`", keyPath: entry.keyPath) else { return [] }
        var specs: [InstanceSpec] = []
        for specEntry in specEntries {
            if !Self.isValidHostName(specEntry.key) {
                report(
                    .invalidValue,
                    at: specEntry.keyNode,
                    keyPath: specEntry.keyPath,
                    "Instance name `\(specEntry.key)` may only contain letters, digits, `.`, `_` and `-` (it names "
                        + "output folders)."
                )
            }
            if let spec = instance(specEntry, inventory: inventory) {
                specs.append(spec)
            }
        }
        return specs
    }

    /// Reads one instance spec; `nil` when it has problems (all of them reported).
    private mutating func instance(_ entry: Entry, inventory: Inventory) -> InstanceSpec? {
        let errorCount = errors.count
        let name = entry.key
        let specPath = entry.keyPath
        // Kept in file order too: keys of the other mode are reported in the order they are written.
        guard let keyed = keyedEntryList(of: entry, as: InstanceKey.self) else { return nil }
        var byKey = Dictionary(keyed, uniquingKeysWith: { _, last in last })
        func missing(_ key: InstanceKey, _ what: String) -> Bool {
            guard byKey[key] == nil else { return false }
            report(
                .missingKey,
                at: entry.keyNode,
                keyPath: "\(specPath).\(key.rawValue)",
                "Instance `\(name)` has no `\(key.rawValue)`; set `\(specPath).\(key.rawValue)` (\(what))."
            )
            return true
        }

        // Mode, and keys that belong to the other mode.
        var mode: InstanceMode?
        if !missing(.mode, "`clone` or `test-instance`"), let node = byKey[.mode]?.value {
            mode = choice(node, keyPath: "\(specPath).mode", as: InstanceMode.self)
        }
        if let mode {
            for (key, item) in keyed {
                guard let keyMode = key.mode, keyMode != mode else { continue }
                byKey[key] = nil
                report(
                    .conflictingKeys,
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` belongs to `mode: \(keyMode)`; instance `\(name)` is a \(mode)."
                )
            }
            if mode == .clone {
                _ = missing(.backup, "the local `.bak` file to restore")
                _ = missing(.masterKey, "production's Master Key as `env:NAME` or `file:PATH`")
            } else {
                _ = missing(.source, "the instance to import projects from")
            }
        }

        // Hosts and their platform.
        var hosts: [String] = []
        var platform: Platform?
        if !missing(.hosts, "host names, group names or globs"), let hostsEntry = byKey[.hosts] {
            (hosts, platform) = instanceHosts(hostsEntry, instance: name, inventory: inventory)
        }

        // Version.
        var version: OctopusVersion?
        if !missing(.version, "the pinned Octopus version, such as `2023.3.13026`"), let item = byKey[.version] {
            version = self.version(item, platform: platform)
        }

        // Package.
        var package: PackageSource?
        if let item = byKey[.package] {
            package = self.package(item, platform: platform, version: version)
        } else if platform != nil && platform != .linuxContainer {
            report(
                .missingKey,
                at: entry.keyNode,
                keyPath: "\(specPath).package",
                "Instance `\(name)` has no `package`; set `\(specPath).package` with `sha256` and one of `url`, "
                    + "`file` or `mirror`."
            )
        }

        // Clone.
        let backup = byKey[.backup].flatMap { newestFile($0.value, keyPath: $0.keyPath, what: "the backup file") }
        let masterKey = byKey[.masterKey].flatMap { secret($0.value, keyPath: $0.keyPath) }
        let folders = byKey[.folders].map { self.folders($0, version: version) } ?? [:]

        // Test instance.
        let source = byKey[.source].flatMap { self.source($0, version: version, inventory: inventory) }
        let production = byKey[.production].flatMap { self.production($0) }

        // Quarantine and verification.
        let quarantine = byKey[.quarantine].map { self.quarantine($0, mode: mode, instance: name) } ?? Quarantine()
        var verify: [VerifyCheck]?
        if let item = byKey[.verify] {
            verify = self.verify(item, mode: mode, quarantine: quarantine)
            if verify?.contains(.serverUri) == true, mode == .testInstance, let source, source.url == nil {
                report(
                    .conflictingKeys,
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` has `server_uri`, which checks the test instance's Server URI is not the "
                        + "source's, but this spec has no `source.url`; remove `server_uri` or set `source.url`."
                )
            }
        } else if mode == .testInstance, let source, source.url == nil {
            // Nothing to compare the Server URI with: the spec only names an export file.
            verify = VerifyCheck.defaults(for: .testInstance, quarantine: quarantine).filter { $0 != .serverUri }
        }

        // Settings that are template variables.
        var settings: [String: InventoryVariable] = [:]
        for key in StepVariables.specSettingKeys {
            guard let instanceKey = InstanceKey(rawValue: key), let item = byKey[instanceKey] else { continue }
            guard case .scalar = item.value else {
                report(
                    .wrongType,
                    at: item.value,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` must be text, not \(describe(item.value))."
                )
                continue
            }
            guard let value = nonEmptyString(item.value, keyPath: item.keyPath) else { continue }
            if let problem = StepVariables.problem(validating: key, value: value, platform: platform) {
                report(.invalidValue, at: item.value, keyPath: item.keyPath, "`\(item.keyPath)` \(problem).")
                continue
            }
            settings[key] = InventoryVariable(value: value, keyPath: item.keyPath, location: location(of: item.value))
        }

        let admin = byKey[.admin].flatMap { self.admin($0) }
        let license = byKey[.license].flatMap { secret($0.value, keyPath: $0.keyPath) }

        guard errors.count == errorCount, let mode, let platform, let version else { return nil }
        return InstanceSpec(
            name: name,
            mode: mode,
            hostPatterns: byKey[.hosts].flatMap { stringListQuietly($0.value) } ?? [],
            hosts: hosts,
            platform: platform,
            version: version,
            package: package,
            backup: backup,
            masterKey: masterKey,
            folders: folders,
            source: source,
            quarantine: quarantine,
            verify: verify,
            settings: settings,
            admin: admin,
            license: license,
            production: production,
            location: location(of: entry.keyNode)
        )
    }

    /// The texts of a list already checked (no reports).
    private func stringListQuietly(_ node: Node) -> [String]? {
        switch node {
        case .sequence(let sequence): sequence.compactMap { $0.scalar?.string }
        case .scalar(let scalar): [scalar.string]
        default: nil
        }
    }

    // MARK: - Hosts

    /// The hosts an instance's `hosts` patterns select, and their one platform.
    private mutating func instanceHosts(
        _ entry: Entry,
        instance: String,
        inventory: Inventory
    ) -> (hosts: [String], platform: Platform?) {
        guard let patterns = stringList(entry.value, keyPath: entry.keyPath) else { return ([], nil) }
        let groups = inventory.groups.map { (name: $0.name, hosts: $0.hosts) }
        let known = hostNames + groupNames
        var selected: Set<String> = []
        var sawInclusion = false
        var unmatched = false
        for (index, pattern) in patterns.enumerated() {
            let keyPath = "\(entry.keyPath)[\(index)]"
            let isExclusion = pattern.text.hasPrefix("!")
            let text = isExclusion ? String(pattern.text.dropFirst()) : pattern.text
            guard let names = Inventory.hostNames(matching: text, hosts: hostNames, groups: groups) else {
                let suggestion = nearestName(to: text, in: known).map { "; did you mean `\($0)`?" } ?? "."
                report(
                    .unknownName,
                    at: pattern.node,
                    keyPath: keyPath,
                    "`\(keyPath)` is `\(pattern.text)`, which matches no host or group\(suggestion)"
                )
                unmatched = true
                continue
            }
            if isExclusion {
                if !sawInclusion {
                    selected = Set(hostNames)
                    sawInclusion = true
                }
                selected.subtract(names)
            } else {
                sawInclusion = true
                selected.formUnion(names)
            }
        }
        let hosts = inventory.hosts.filter { selected.contains($0.name) }
        guard !unmatched else { return (hosts.map(\.name), nil) }
        guard !hosts.isEmpty || hostNames.contains(where: selected.contains) else {
            report(
                .unknownName,
                at: entry.value,
                keyPath: entry.keyPath,
                "`\(entry.keyPath)` selects no host; instance `\(instance)` needs at least one."
            )
            return ([], nil)
        }
        var platforms: [Platform: [String]] = [:]
        for host in hosts {
            guard let platform = host.platform else {
                if hostsWithInvalidPlatform.contains(host.name) { continue }
                report(
                    .missingKey,
                    at: entry.value,
                    keyPath: "hosts.\(host.name).platform",
                    "Host `\(host.name)` (selected by `\(entry.keyPath)`) has no `platform`; set "
                        + "`hosts.\(host.name).platform` or `defaults.platform` to "
                        + "\(Platform.allCases.map { "`\($0)`" }.joined(separator: ", "))."
                )
                continue
            }
            platforms[platform, default: []].append(host.name)
        }
        guard platforms.count <= 1 else {
            let described = platforms.keys.sorted().map { platform in
                "\(platform) (\((platforms[platform] ?? []).joined(separator: ", ")))"
            }
            report(
                .conflictingKeys,
                at: entry.value,
                keyPath: entry.keyPath,
                "`\(entry.keyPath)` selects hosts of several platforms: \(described.joined(separator: "; ")); one "
                    + "instance provisions one platform, so split it into one instance per platform."
            )
            return (hosts.map(\.name), nil)
        }
        return (hosts.map(\.name), platforms.keys.first)
    }

    // MARK: - Version and package

    private mutating func version(_ entry: Entry, platform: Platform?) -> OctopusVersion? {
        guard let text = string(entry.value, keyPath: entry.keyPath) else { return nil }
        let version: OctopusVersion
        do {
            version = try OctopusVersion(parsing: text)
        } catch {
            report(.invalidValue, at: entry.value, keyPath: entry.keyPath, "`\(entry.keyPath)`: \(error.message)")
            return nil
        }
        if !version.isModern {
            report(
                .unsupportedVersion,
                at: entry.value,
                keyPath: entry.keyPath,
                "`\(entry.keyPath)` is \(version); octoprov provisions Octopus 3.0 and later (older versions need "
                    + "the legacy upgrade path)."
            )
            return nil
        }
        if platform == .linuxContainer && version < Self.firstLinuxContainer {
            report(
                .unsupportedVersion,
                at: entry.value,
                keyPath: entry.keyPath,
                "`\(entry.keyPath)` is \(version), but Octopus publishes Linux container images from "
                    + "\(Self.firstLinuxContainer.major).\(Self.firstLinuxContainer.minor) on; use the `windows` "
                    + "platform for this version."
            )
            return nil
        }
        return version
    }

    /// 2020.6: the first version with a Linux container image (../shared/octopus-facts.md §2.7).
    static let firstLinuxContainer = OctopusVersion(major: 2020, minor: 6, build: 0)

    private mutating func package(_ entry: Entry, platform: Platform?, version: OctopusVersion?) -> PackageSource? {
        guard let byKey = keyedEntries(of: entry, as: PackageKey.self) else { return nil }
        var sha256: String?
        if let item = byKey[.sha256] {
            if let text = string(item.value, keyPath: item.keyPath) {
                let lowered = text.lowercased()
                if lowered.count == 64,
                    lowered.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) })
                {
                    sha256 = lowered
                } else {
                    report(
                        .invalidValue,
                        at: item.value,
                        keyPath: item.keyPath,
                        "`\(item.keyPath)` must be 64 hexadecimal digits (`sha256sum FILE` prints them), not a "
                            + "\(text.count)-character value."
                    )
                }
            }
        } else {
            report(
                .missingKey,
                at: entry.keyNode,
                keyPath: "\(entry.keyPath).sha256",
                "`\(entry.keyPath)` has no `sha256`; pin the package with `\(entry.keyPath).sha256`."
            )
        }
        let origins = [PackageKey.url, .file, .mirror].compactMap { byKey[$0] }
            .sorted { location(of: $0.keyNode) < location(of: $1.keyNode) }
        guard origins.count == 1, let origin = origins.first else {
            if origins.isEmpty {
                report(
                    .missingKey,
                    at: entry.keyNode,
                    keyPath: entry.keyPath,
                    "`\(entry.keyPath)` needs one of `url` (the host downloads it), `file` (a local file octoprov "
                        + "uploads) or `mirror` (a local folder holding the package)."
                )
            } else {
                for extra in origins.dropFirst() {
                    report(
                        .conflictingKeys,
                        at: extra.keyNode,
                        keyPath: extra.keyPath,
                        "`\(extra.keyPath)` is a second package source besides `\(origins[0].key)`; keep exactly one "
                            + "of `url`, `file` and `mirror`."
                    )
                }
            }
            return nil
        }
        var result: PackageSource.Origin?
        switch PackageKey(rawValue: origin.key) {
        case .url:
            result = httpURL(origin, being: "an").map { .url($0) }
        case .file:
            result = existingFile(origin.value, keyPath: origin.keyPath, what: "the package file").map { .file($0) }
        case .mirror:
            if let folder = existingDirectory(origin.value, keyPath: origin.keyPath, what: "the package mirror") {
                if let platform, let version {
                    let file = folder + "/" + platform.packageFileName(for: version)
                    let kind = LocalPathKind(file)
                    if case .regularFile = kind {
                        result = .mirror(folder: folder, file: file)
                    } else if kind != .missing, let problem = kind.fileProblem("the package file", file) {
                        report(
                            .notRegularFile,
                            at: origin.value,
                            keyPath: origin.keyPath,
                            "`\(origin.keyPath)` names \(problem)."
                        )
                    } else {
                        report(
                            .fileNotFound,
                            at: origin.value,
                            keyPath: origin.keyPath,
                            "`\(origin.keyPath)` names the folder \(folder), which has no "
                                + "\(platform.packageFileName(for: version)) (the \(platform) package of \(version))."
                        )
                    }
                }
            }
        default:
            break
        }
        guard let sha256, let result else { return nil }
        return PackageSource(
            sha256: sha256,
            origin: result,
            sha256Location: location(of: byKey[.sha256]?.value ?? entry.value)
        )
    }

    /// A path to a folder that must exist.
    mutating func existingDirectory(_ node: Node, keyPath: String, what: String) -> String? {
        guard let resolved = path(node, keyPath: keyPath) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            report(
                .fileNotFound,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` names \(what) \(resolved), which does not exist or is not a folder."
            )
            return nil
        }
        return resolved
    }

    // MARK: - Clone

    private mutating func folders(_ entry: Entry, version: OctopusVersion?) -> [ServerFolder: String] {
        guard let keyed = keyedEntryList(of: entry, as: ServerFolder.self) else { return [:] }
        var folders: [ServerFolder: String] = [:]
        for (folder, item) in keyed {
            folders[folder] = existingDirectory(item.value, keyPath: item.keyPath, what: "a folder")
            guard let version else { continue }
            if folder == .eventExports && !version.hasEventExports {
                warn(
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)`: Octopus \(version) has no EventExports folder (it arrived in 2023.3), so "
                        + "nothing will use this copy."
                )
            }
            if folder == .imports && !version.hasExportImportProjects {
                warn(
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)`: Octopus \(version) has no Imports folder (it arrived in 2021.1), so nothing "
                        + "will use this copy."
                )
            }
        }
        return folders.compactMapValues { $0 }
    }

    // MARK: - Test instance

    private mutating func source(_ entry: Entry, version: OctopusVersion?, inventory: Inventory) -> TestInstanceSource?
    {
        guard let byKey = keyedEntries(of: entry, as: SourceKey.self) else { return nil }
        // An export made earlier is imported as it is: the source itself is then optional.
        let required: [SourceKey] =
            byKey[.exportFile] == nil ? [.url, .apiKey, .projects, .exportPassword] : [.projects, .exportPassword]
        reportMissing(required.filter { byKey[$0] == nil }.map(\.rawValue), in: entry)
        let url = byKey[.url].flatMap { httpURL($0, being: "the source server's") }
        let apiKey = byKey[.apiKey].flatMap { secret($0.value, keyPath: $0.keyPath) }
        let exportPassword = byKey[.exportPassword].flatMap { secret($0.value, keyPath: $0.keyPath) }
        var selections: [TestInstanceSource.ProjectPatterns] = []
        if let item = byKey[.space] {
            if let version, !version.hasSpaces {
                report(
                    .unsupportedVersion,
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` is set, but Octopus \(version) has no spaces (they arrived in 2019.1); "
                        + "remove it."
                )
            }
        }
        if let item = byKey[.projects] {
            if case .mapping = item.value {
                selections = projectsBySpace(item, version: version, spaceKey: byKey[.space])
            } else if let list = stringList(item.value, keyPath: item.keyPath) {
                var space: String?
                if let spaceItem = byKey[.space] {
                    space = nonEmptyString(spaceItem.value, keyPath: spaceItem.keyPath)
                } else if version?.hasSpaces ?? true {
                    space = "Default"
                }
                if version.map({ !$0.hasSpaces }) ?? false { space = nil }
                if list.isEmpty {
                    report(
                        .invalidValue,
                        at: item.value,
                        keyPath: item.keyPath,
                        "`\(item.keyPath)` is empty; list the project names or globs to import."
                    )
                } else {
                    selections = [TestInstanceSource.ProjectPatterns(space: space, patterns: list.map(\.text))]
                }
            }
        }
        var host: String?
        if let item = byKey[.host], let text = nonEmptyString(item.value, keyPath: item.keyPath) {
            if hostNames.contains(text) {
                host = text
            } else {
                let suggestion = nearestName(to: text, in: hostNames).map { "; did you mean `\($0)`?" } ?? "."
                report(
                    .unknownName,
                    at: item.value,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` is `\(text)`, which is not a host of this inventory\(suggestion)"
                )
            }
        }
        if let version {
            if !version.hasExportImportProjects && byKey[.host] == nil {
                report(
                    .unsupportedVersion,
                    at: entry.keyNode,
                    keyPath: "\(entry.keyPath).host",
                    "Export/Import Projects needs Octopus 2021.1 or later; for \(version) set `\(entry.keyPath).host` "
                        + "to the inventory host of the source server, so that octoprov uses Octopus.Migrator."
                )
            } else if version.hasExportImportProjects, let item = byKey[.host] {
                warn(
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` is only used by the Migrator route (before 2021.1); Octopus \(version) "
                        + "imports with Export/Import Projects through the API, so it is ignored."
                )
                host = nil
            }
        }
        if let version, !version.hasExportImportProjects, selections.count > 1, let item = byKey[.projects] {
            report(
                .unsupportedVersion,
                at: item.keyNode,
                keyPath: item.keyPath,
                "`\(item.keyPath)` names \(selections.count) spaces, but before 2021.1 projects move with "
                    + "Octopus.Migrator, which is not for moving projects between spaces; import one space per "
                    + "test instance."
            )
        }
        var exportFile: String?
        if let item = byKey[.exportFile] {
            exportFile = existingFile(item.value, keyPath: item.keyPath, what: "the export file")
            if let version, !version.hasExportImportProjects {
                report(
                    .unsupportedVersion,
                    at: item.keyNode,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` is an Export Projects zip, but Octopus \(version) has no Export/Import Projects "
                        + "(2021.1 and later); remove it and let Octopus.Migrator export from `source.host`."
                )
            }
            if selections.count > 1, let projects = byKey[.projects] {
                report(
                    .conflictingKeys,
                    at: projects.keyNode,
                    keyPath: projects.keyPath,
                    "`\(projects.keyPath)` names \(selections.count) spaces, but `\(item.keyPath)` is one export of one "
                        + "space; list that space's projects, with `source.space` naming the space to import into."
                )
            }
        }
        let hasSource = url != nil && apiKey != nil
        guard let exportPassword, !selections.isEmpty, hasSource || exportFile != nil else { return nil }
        return TestInstanceSource(
            url: url,
            apiKey: apiKey,
            selections: selections,
            exportPassword: exportPassword,
            host: host,
            exportFile: exportFile
        )
    }

    /// `projects:` written as a mapping of space name to names or globs (`{Default: [Web*], Ops: [Deploy DB]}`):
    /// one selection per space. The spaces need 2019.1 or later, and `space:` must not be given as well.
    private mutating func projectsBySpace(
        _ item: Entry,
        version: OctopusVersion?,
        spaceKey: Entry?
    ) -> [TestInstanceSource.ProjectPatterns] {
        if let spaceKey {
            report(
                .conflictingKeys,
                at: spaceKey.keyNode,
                keyPath: spaceKey.keyPath,
                "`\(spaceKey.keyPath)` is given, but `\(item.keyPath)` already names the spaces; remove "
                    + "`\(spaceKey.keyPath)`."
            )
        }
        if let version, !version.hasSpaces {
            report(
                .unsupportedVersion,
                at: item.keyNode,
                keyPath: item.keyPath,
                "`\(item.keyPath)` names spaces, but Octopus \(version) has no spaces (they arrived in 2019.1); "
                    + "give a plain list of projects."
            )
            return []
        }
        guard let entries = entries(of: item.value, at: "`\(item.keyPath)`", keyPath: item.keyPath) else { return [] }
        var selections: [TestInstanceSource.ProjectPatterns] = []
        var seen: [String: Entry] = [:]
        for entry in entries {
            if let earlier = seen[entry.key.lowercased()] {
                report(
                    .duplicateKey,
                    at: entry.keyNode,
                    keyPath: entry.keyPath,
                    "`\(entry.keyPath)` names the space `\(earlier.key)` again (space names ignore case); "
                        + "list its projects once."
                )
                continue
            }
            seen[entry.key.lowercased()] = entry
            guard let list = stringList(entry.value, keyPath: entry.keyPath) else { continue }
            guard !list.isEmpty else {
                report(
                    .invalidValue,
                    at: entry.value,
                    keyPath: entry.keyPath,
                    "`\(entry.keyPath)` is empty; list the project names or globs to import from space "
                        + "`\(entry.key)`."
                )
                continue
            }
            selections.append(TestInstanceSource.ProjectPatterns(space: entry.key, patterns: list.map(\.text)))
        }
        if entries.isEmpty {
            report(
                .invalidValue,
                at: item.value,
                keyPath: item.keyPath,
                "`\(item.keyPath)` is empty; list the project names or globs to import."
            )
        }
        return selections
    }

    // MARK: - Quarantine and verification

    private mutating func quarantine(_ entry: Entry, mode: InstanceMode?, instance: String) -> Quarantine {
        let acknowledgeKey = "acknowledge"
        guard
            let keyed = entries(
                of: entry.value,
                at: "`\(entry.keyPath)`",
                keyPath: entry.keyPath,
                allowed: QuarantineSwitch.allCases.map(\.rawValue) + [acknowledgeKey]
            )
        else { return Quarantine() }
        var quarantine = Quarantine()
        var switchNodes: [QuarantineSwitch: Entry] = [:]
        var acknowledgedNodes: [QuarantineSwitch: Node] = [:]
        for item in keyed {
            if let key = QuarantineSwitch(rawValue: item.key) {
                switchNodes[key] = item
                if boolean(item.value, keyPath: item.keyPath) == false {
                    quarantine.disabled.insert(key)
                }
            } else if item.key == acknowledgeKey, let list = stringList(item.value, keyPath: item.keyPath) {
                let valid = QuarantineSwitch.allCases.map(\.rawValue)
                for (index, name) in list.enumerated() {
                    guard let key = QuarantineSwitch(rawValue: name.text) else {
                        let suggestion = nearestName(to: name.text, in: valid).map { "; did you mean `\($0)`?" } ?? "."
                        report(
                            .invalidValue,
                            at: name.node,
                            keyPath: "\(item.keyPath)[\(index)]",
                            "`\(item.keyPath)[\(index)]` is `\(name.text)`, which is not a quarantine switch\(suggestion)"
                        )
                        continue
                    }
                    quarantine.acknowledged.insert(key)
                    acknowledgedNodes[key] = name.node
                }
            }
        }
        guard mode == .clone else { return quarantine }
        for key in QuarantineSwitch.allCases {
            let off = quarantine.disabled.contains(key)
            let acknowledged = quarantine.acknowledged.contains(key)
            if off && !acknowledged, let item = switchNodes[key] {
                report(
                    .unsafeQuarantine,
                    at: item.value,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` is off, so clone `\(instance)` \(key.risk); if that is really wanted, add "
                        + "`\(key.rawValue)` to `\(entry.keyPath).acknowledge`."
                )
            } else if off {
                warn(
                    at: switchNodes[key]?.value ?? entry.keyNode,
                    keyPath: "\(entry.keyPath).\(key.rawValue)",
                    "Quarantine `\(key.rawValue)` is off (acknowledged): clone `\(instance)` \(key.risk)."
                )
            } else if acknowledged, let node = acknowledgedNodes[key] {
                report(
                    .invalidValue,
                    at: node,
                    keyPath: "\(entry.keyPath).acknowledge",
                    "`\(entry.keyPath).acknowledge` lists `\(key.rawValue)`, which is on; remove it from the list."
                )
            }
        }
        return quarantine
    }

    private mutating func verify(_ entry: Entry, mode: InstanceMode?, quarantine: Quarantine) -> [VerifyCheck]? {
        guard let list = stringList(entry.value, keyPath: entry.keyPath) else { return nil }
        let valid = VerifyCheck.allCases.map(\.rawValue)
        var checks: Set<VerifyCheck> = []
        for (index, item) in list.enumerated() {
            let keyPath = "\(entry.keyPath)[\(index)]"
            guard let check = VerifyCheck(rawValue: item.text) else {
                let suggestion = nearestName(to: item.text, in: valid).map { "; did you mean `\($0)`?" } ?? "."
                report(
                    .invalidValue,
                    at: item.node,
                    keyPath: keyPath,
                    "`\(keyPath)` is `\(item.text)`, which is not a verification check\(suggestion)"
                )
                continue
            }
            if let mode, !check.modes.contains(mode) {
                report(
                    .conflictingKeys,
                    at: item.node,
                    keyPath: keyPath,
                    "`\(keyPath)`: the check `\(check)` does not apply to a \(mode)."
                )
                continue
            }
            if mode == .clone, let needed = check.quarantineSwitch, !quarantine.isEnabled(needed) {
                report(
                    .conflictingKeys,
                    at: item.node,
                    keyPath: keyPath,
                    "`\(keyPath)`: the check `\(check)` cannot pass with quarantine `\(needed)` off."
                )
                continue
            }
            checks.insert(check)
        }
        return VerifyCheck.allCases.filter(checks.contains)
    }

    // MARK: - Admin

    private mutating func admin(_ entry: Entry) -> AdminSpec? {
        guard let byKey = keyedEntries(of: entry, as: AdminKey.self) else { return nil }
        reportMissing([AdminKey.username, .password].filter { byKey[$0] == nil }.map(\.rawValue), in: entry)
        let username = byKey[.username].flatMap { item in
            nonEmptyString(item.value, keyPath: item.keyPath).flatMap { adminText($0, item) }
        }
        var email = ""
        if let item = byKey[.email], let text = nonEmptyString(item.value, keyPath: item.keyPath),
            let text = adminText(text, item)
        {
            if text.contains("@") {
                email = text
            } else {
                report(
                    .invalidValue,
                    at: item.value,
                    keyPath: item.keyPath,
                    "`\(item.keyPath)` must be an e-mail address, not `\(text)`."
                )
            }
        }
        let password = byKey[.password].flatMap { secret($0.value, keyPath: $0.keyPath) }
        guard let username, let password else { return nil }
        return AdminSpec(username: username, email: email, password: password)
    }

    /// An administrator's user name or e-mail address, when it is one line that `Octopus.Server admin` and the
    /// user's record can hold: no control character (a NUL or line break cannot pass through an argument or
    /// the script), no blank or invisible character at either end or inside, at most 200 characters (octoprov's
    /// bound: Octopus documents none [UNCONFIRMED], and 200 is far beyond any real name or address).
    private mutating func adminText(_ text: String, _ item: Entry) -> String? {
        var problem: String?
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            problem = "must be one line without control characters"
        } else if text.utf16.count > 200 {
            problem = "must be at most 200 characters"
        } else {
            problem = StepVariables.invisibleCharacterProblem(text)
        }
        guard let problem else { return text }
        report(.invalidValue, at: item.value, keyPath: item.keyPath, "`\(item.keyPath)` \(problem).")
        return nil
    }

    /// A clone's `production:` (`url`, `api_key`): production's REST API for `drift`.
    private mutating func production(_ entry: Entry) -> ProductionAPI? {
        guard
            let keyed = entries(
                of: entry.value,
                at: "`\(entry.keyPath)`",
                keyPath: entry.keyPath,
                allowed: ["url", "api_key"]
            )
        else { return nil }
        let byKey = Dictionary(keyed.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        reportMissing(["url", "api_key"].filter { byKey[$0] == nil }, in: entry)
        let url = byKey["url"].flatMap { httpURL($0, being: "production's") }
        let apiKey = byKey["api_key"].flatMap { secret($0.value, keyPath: $0.keyPath) }
        guard let url, let apiKey else { return nil }
        return ProductionAPI(url: url, apiKey: apiKey)
    }

    // MARK: - Shared checks

    /// Reports each of `keys` as missing from `entry`'s mapping, in order.
    private mutating func reportMissing(_ keys: [String], in entry: Entry) {
        for key in keys {
            report(
                .missingKey,
                at: entry.keyNode,
                keyPath: "\(entry.keyPath).\(key)",
                "`\(entry.keyPath)` has no `\(key)`; set `\(entry.keyPath).\(key)`."
            )
        }
    }

    /// `item`'s value when it is an `http://` or `https://` URL; anything else is reported as not being `whose`
    /// such URL (such as "an" or "production's").
    private mutating func httpURL(_ item: Entry, being whose: String) -> String? {
        guard let text = nonEmptyString(item.value, keyPath: item.keyPath) else { return nil }
        guard StepVariables.port(of: text) != nil else {
            report(
                .invalidValue,
                at: item.value,
                keyPath: item.keyPath,
                "`\(item.keyPath)` must be \(whose) `http://` or `https://` URL, not `\(text)`."
            )
            return nil
        }
        return text
    }
}
