/// Everything `octoprov inventory check` (and `plan`, before it renders anything) finds in an inventory, in one
/// pass: the file's structure, every referenced file, every secret reference read, local package checksums, and
/// each instance's variable set for each of its hosts.
public struct InventoryCheck: Sendable {
    /// The inventory file as named to octoprov (messages use this name).
    public var file: String
    /// The inventory; incomplete when ``errors`` is not empty.
    public var inventory: Inventory
    /// Every problem, sorted by location, each once.
    public var errors: [InventoryError]
    /// Every warning, sorted by location.
    public var warnings: [InventoryWarning]
    /// Hides every secret that was read, for every line printed about this inventory.
    public var redactor: Redactor
    /// The `--var` values, by name.
    public var overrides: [String: InventoryVariable]

    /// Whether the inventory can be used: no problem was found.
    public var isValid: Bool { errors.isEmpty }

    /// Checks the inventory at `path`.
    ///
    /// - Parameters:
    ///   - path: The inventory file, absolute or relative to the current directory.
    ///   - environment: The environment `env:` references and `~` are read from.
    ///   - variables: The `--var NAME=VALUE` arguments.
    /// - Returns: What was found; never throws, so that every problem can be printed together.
    public static func run(path: String, environment: [String: String], variables: [String] = []) -> InventoryCheck {
        let parsedOverrides = VariableOverrides.parse(variables)
        let analysis = Inventory.analyze(path: path, environment: environment, readSecrets: true)
        var errors = parsedOverrides.errors + analysis.errors
        let inventory = analysis.inventory
        errors += packageProblems(inventory)
        errors += variableProblems(inventory, overrides: parsedOverrides.variables)
        errors += sharedHostProblems(inventory)
        var seen: Set<InventoryError> = []
        let unique = errors.filter { seen.insert($0).inserted }
        return InventoryCheck(
            file: path,
            inventory: inventory,
            errors: InventoryErrors(unique)?.errors ?? [],
            warnings: inventory.warnings,
            redactor: Redactor(secrets: analysis.secretValues),
            overrides: parsedOverrides.variables
        )
    }

    /// Local packages whose SHA-256 is not the pinned one.
    static func packageProblems(_ inventory: Inventory) -> [InventoryError] {
        var errors: [InventoryError] = []
        for spec in inventory.instances {
            guard let package = spec.package, let file = package.localFile else { continue }
            let keyPath = "instances.\(spec.name).package.sha256"
            let digest: String
            do {
                digest = try FileDigest.sha256(path: file)
            } catch {
                errors.append(
                    InventoryError(
                        .unreadableFile,
                        at: package.sha256Location,
                        keyPath: keyPath,
                        "The package \(file) of instance `\(spec.name)` cannot be read (\(error))."
                    )
                )
                continue
            }
            if digest != package.sha256 {
                errors.append(
                    InventoryError(
                        .checksumMismatch,
                        at: package.sha256Location,
                        keyPath: keyPath,
                        "`\(keyPath)` does not match \(file), whose SHA-256 is \(digest); check the file or the pin."
                    )
                )
            }
        }
        return errors
    }

    /// Hosts that two instances name. octoprov keeps one instance per host: the host's work folder, its step
    /// scripts (`04-install.sh`), its step marker and its Octopus instance, database and web port defaults would be
    /// shared, so one instance's run would undo or mislead the other's.
    static func sharedHostProblems(_ inventory: Inventory) -> [InventoryError] {
        var owner: [String: String] = [:]
        var errors: [InventoryError] = []
        for spec in inventory.instances {
            // The hosts this spec shares, grouped by the earlier instance that has them, in host order.
            var shared: [(instance: String, hosts: [String])] = []
            for host in spec.hosts {
                guard let other = owner[host], other != spec.name else {
                    owner[host] = spec.name
                    continue
                }
                if let index = shared.firstIndex(where: { $0.instance == other }) {
                    shared[index].hosts.append(host)
                } else {
                    shared.append((other, [host]))
                }
            }
            for (other, hosts) in shared {
                let named = hosts.map { "`\($0)`" }.joined(separator: ", ")
                errors.append(
                    InventoryError(
                        .conflictingKeys,
                        at: spec.location,
                        keyPath: "instances.\(spec.name).hosts",
                        "`instances.\(spec.name).hosts` names \(hosts.count == 1 ? "host" : "hosts") \(named), which "
                            + "instance `\(other)` has already; octoprov puts one instance on a host (two would share "
                            + "its work folder, step scripts and Octopus instance), so give `\(spec.name)` other hosts."
                    )
                )
            }
        }
        return errors
    }

    /// Problems with the variable set of each instance on each of its hosts.
    static func variableProblems(_ inventory: Inventory, overrides: [String: InventoryVariable]) -> [InventoryError] {
        var errors: [InventoryError] = []
        for spec in inventory.instances {
            for name in spec.hosts {
                guard let host = inventory.host(named: name) else { continue }
                do {
                    _ = try StepVariables.build(host: host, instance: spec, overrides: overrides)
                } catch {
                    errors += error.errors
                }
            }
        }
        return errors
    }
}
