import Yams

/// The keys a host (or `defaults`) may have.
enum HostKey: String, CaseIterable {
    case address
    case port
    case user
    case identity
    case identityPassphrase = "identity_passphrase"
    case password
    case sqlPassword = "sql_password"
    case agent
    case knownHosts = "known_hosts"
    case hostKeyPolicy = "host_key_policy"
    case connectTimeout = "connect_timeout"
    case platform
    case vars
}

/// The top-level keys of an inventory.
enum TopLevelKey: String, CaseIterable {
    case defaults
    case hosts
    case groups
    case instances
}

/// The connection settings given for one host or in `defaults`, before they are merged.
struct HostSettings {
    var address: String?
    var port: Int?
    var user: String?
    var identity: String?
    var identityPassphrase: SecretReference?
    var password: SecretReference?
    var sqlPassword: SecretReference?
    var agent: Bool?
    var knownHosts: String?
    var hostKeyPolicy: HostKeyPolicyName?
    var connectTimeout: Double?
    var platform: Platform?
    /// The `vars` of this mapping alone (merging with groups and defaults happens later).
    var vars: [String: InventoryVariable] = [:]
    /// Keys that were written, valid or not (so that an invalid value is not also reported as missing).
    var given: Set<HostKey> = []

    /// These settings, with `defaults` filling the keys they leave out.
    func applying(defaults: HostSettings) -> HostSettings {
        HostSettings(
            address: address ?? defaults.address,
            port: port ?? defaults.port,
            user: user ?? defaults.user,
            identity: identity ?? defaults.identity,
            identityPassphrase: identityPassphrase ?? defaults.identityPassphrase,
            password: password ?? defaults.password,
            sqlPassword: sqlPassword ?? defaults.sqlPassword,
            agent: agent ?? defaults.agent,
            knownHosts: knownHosts ?? defaults.knownHosts,
            hostKeyPolicy: hostKeyPolicy ?? defaults.hostKeyPolicy,
            connectTimeout: connectTimeout ?? defaults.connectTimeout,
            platform: platform ?? defaults.platform,
            vars: vars,
            given: given.union(defaults.given)
        )
    }
}

extension InventoryParser {
    /// Reads the whole inventory: `defaults`, `hosts`, `groups` and `instances`.
    ///
    /// - Returns: The inventory; when any problem was reported it is incomplete and only ``errors`` counts.
    mutating func parseInventory(_ root: Node, path: String) -> Inventory {
        guard case .mapping = root else {
            report(
                .wrongType,
                at: root,
                keyPath: "",
                "The inventory must be a mapping with a `hosts` key, not \(describe(root))."
            )
            return Inventory(path: path, hosts: [])
        }
        let entries =
            entries(
                of: root,
                at: "The inventory",
                keyPath: "",
                allowed: TopLevelKey.allCases.map(\.rawValue),
                reserved: ["vars"]
            ) ?? []
        if case .mapping(let mapping) = root,
            let varsKey = mapping.keys.first(where: { $0.scalar?.string == "vars" })
        {
            report(
                .unknownKey,
                at: varsKey,
                keyPath: "vars",
                "Unknown key `vars` at the top level; put variables every host shares under `defaults.vars`."
            )
        }
        var defaults = HostSettings()
        if let entry = entries.first(where: { $0.key == TopLevelKey.defaults.rawValue }) {
            defaults = hostSettings(entry.value, keyPath: entry.keyPath, isDefaults: true)
        }
        var hosts: [InventoryHost]
        if let hostsEntry = entries.first(where: { $0.key == TopLevelKey.hosts.rawValue }) {
            hosts = self.hosts(hostsEntry, defaults: defaults)
        } else if let misspelled = misspelledEntry(of: root, for: TopLevelKey.hosts.rawValue) {
            // Already reported as an unknown key; check the hosts under it anyway, to report everything.
            hosts = self.hosts(misspelled, defaults: defaults)
        } else {
            report(
                .noHosts,
                at: root,
                keyPath: "hosts",
                "The inventory has no `hosts` mapping; add one with at least one host."
            )
            hosts = []
        }
        var groups: [InventoryGroup] = []
        if let groupsEntry = entries.first(where: { $0.key == TopLevelKey.groups.rawValue }) {
            groups = self.groups(groupsEntry, hosts: hosts)
        }
        hosts = Self.mergingVars(into: hosts, defaults: defaults.vars, groups: groups)
        var inventory = Inventory(path: path, hosts: hosts, groups: groups)
        if let instancesEntry = entries.first(where: { $0.key == TopLevelKey.instances.rawValue }) {
            inventory.instances = instances(instancesEntry, inventory: inventory)
        }
        return inventory
    }

    /// The entry of `mapping` whose key is an unknown key nearest to `key` (such as `hots` for `hosts`).
    private func misspelledEntry(of mapping: Node, for key: String) -> Entry? {
        guard case .mapping(let mapping) = mapping else { return nil }
        let allowed = TopLevelKey.allCases.map(\.rawValue) + ["vars"]
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string, !allowed.contains(name),
                nearestName(to: name, in: allowed) == key
            else { continue }
            return Entry(key: name, keyNode: keyNode, value: value, keyPath: name)
        }
        return nil
    }

    /// Reads the `hosts` mapping: host names to host settings.
    private mutating func hosts(_ entry: Entry, defaults: HostSettings) -> [InventoryHost] {
        guard let hostEntries = entries(of: entry.value, at: "`\(entry.key)`", keyPath: entry.keyPath) else {
            return []
        }
        guard !hostEntries.isEmpty else {
            report(
                .noHosts,
                at: entry.keyNode,
                keyPath: entry.keyPath,
                "`\(entry.key)` is empty; add at least one host."
            )
            return []
        }
        var hosts: [InventoryHost] = []
        for hostEntry in hostEntries {
            let name = hostEntry.key
            hostNames.append(name)
            let settings = hostSettings(hostEntry.value, keyPath: hostEntry.keyPath, isDefaults: false)
                .applying(defaults: defaults)
            if !Self.isValidHostName(name) {
                report(
                    .invalidValue,
                    at: hostEntry.keyNode,
                    keyPath: hostEntry.keyPath,
                    "Host name `\(name)` may only contain letters, digits, `.`, `_` and `-`."
                )
            }
            for key in [HostKey.address, .user] where !settings.given.contains(key) {
                let hint = key == .user ? " (or `defaults.user`)" : ""
                report(
                    .missingKey,
                    at: hostEntry.keyNode,
                    keyPath: "\(hostEntry.keyPath).\(key.rawValue)",
                    "Host `\(name)` has no `\(key.rawValue)`; set `\(hostEntry.keyPath).\(key.rawValue)`\(hint)."
                )
            }
            if settings.given.contains(.platform) && settings.platform == nil {
                hostsWithInvalidPlatform.insert(name)
            }
            guard let address = settings.address, let user = settings.user else { continue }
            hosts.append(
                InventoryHost(
                    name: name,
                    address: address,
                    port: settings.port ?? InventoryHost.defaultPort,
                    user: user,
                    identity: settings.identity,
                    identityPassphrase: settings.identityPassphrase,
                    password: settings.password,
                    sqlPassword: settings.sqlPassword,
                    agent: settings.agent,
                    knownHosts: settings.knownHosts
                        ?? PathResolution.resolve("~/.ssh/known_hosts", relativeTo: directory, home: home),
                    hostKeyPolicy: settings.hostKeyPolicy ?? .strict,
                    connectTimeout: settings.connectTimeout ?? InventoryHost.defaultConnectTimeout,
                    platform: settings.platform,
                    vars: settings.vars,
                    location: location(of: hostEntry.keyNode)
                )
            )
        }
        return hosts
    }

    /// Reads the settings of one host, or of `defaults` (where `address` is not allowed).
    mutating func hostSettings(_ node: Node, keyPath: String, isDefaults: Bool) -> HostSettings {
        var settings = HostSettings()
        let allowed = HostKey.allCases.filter { !isDefaults || $0 != .address }
        let what = isDefaults ? "`defaults`" : "`\(keyPath)`"
        if isDefaults, case .mapping(let mapping) = node,
            let addressKey = mapping.keys.first(where: { $0.scalar?.string == HostKey.address.rawValue })
        {
            report(
                .invalidValue,
                at: addressKey,
                keyPath: "defaults.address",
                "`defaults.address` cannot be shared; give each host its own `address`."
            )
        }
        let entries =
            entries(
                of: node,
                at: what,
                keyPath: keyPath,
                allowed: allowed.map(\.rawValue),
                reserved: isDefaults ? [HostKey.address.rawValue] : []
            ) ?? []
        for entry in entries {
            guard let key = HostKey(rawValue: entry.key) else { continue }
            settings.given.insert(key)
            let node = entry.value
            let path = entry.keyPath
            switch key {
            case .address:
                settings.address = nonEmptyString(node, keyPath: path)
            case .port:
                settings.port = integer(node, keyPath: path, in: 1...65_535)
            case .user:
                settings.user = nonEmptyString(node, keyPath: path)
            case .identity:
                settings.identity = identityFile(node, keyPath: path)
            case .identityPassphrase:
                settings.identityPassphrase = secret(node, keyPath: path)
            case .password:
                settings.password = secret(node, keyPath: path)
            case .sqlPassword:
                settings.sqlPassword = secret(node, keyPath: path)
            case .agent:
                settings.agent = boolean(node, keyPath: path)
            case .knownHosts:
                settings.knownHosts = optionalFile(node, keyPath: path, what: "known_hosts file")
            case .hostKeyPolicy:
                settings.hostKeyPolicy = choice(node, keyPath: path, as: HostKeyPolicyName.self)
            case .connectTimeout:
                settings.connectTimeout = positiveNumber(node, keyPath: path)
            case .platform:
                settings.platform = choice(node, keyPath: path, as: Platform.self)
            case .vars:
                settings.vars = vars(node, keyPath: path)
            }
        }
        return settings
    }

    /// Whether `name` can be used as a host name, and so in `--limit` lists and globs.
    static func isValidHostName(_ name: String) -> Bool {
        name.unicodeScalars.allSatisfy { scalar in
            scalar == "." || scalar == "_" || scalar == "-" || ("a"..."z").contains(scalar)
                || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
    }
}
