/// A named set of hosts in an inventory's `groups:`, with variables its hosts share.
///
/// ```yaml
/// groups:
///   clones:
///     members: [vm1, vm2, lab]     # host names and names of other groups
///     vars:
///       sql_server: localhost\SQLEXPRESS
///   lab:
///     members: [vm3]
/// ```
public struct InventoryGroup: Sendable, Hashable {
    /// The group's name (its key under `groups`), usable in `--limit` and in an instance's `hosts`.
    public var name: String
    /// The members as written: host names and group names, in file order.
    public var members: [String]
    /// Every host in the group, directly or through nested groups, in the order the inventory lists hosts.
    public var hosts: [String]
    /// The group's own `vars`.
    public var vars: [String: InventoryVariable]
    /// Where the group's name is written.
    public var location: SourceLocation

    /// Creates a group.
    ///
    /// - Parameters:
    ///   - name: The group's name.
    ///   - members: The members as written.
    ///   - hosts: Every host in the group, in inventory order.
    ///   - vars: The group's own variables.
    ///   - location: Where the group is written.
    public init(
        name: String,
        members: [String],
        hosts: [String],
        vars: [String: InventoryVariable] = [:],
        location: SourceLocation
    ) {
        self.name = name
        self.members = members
        self.hosts = hosts
        self.vars = vars
        self.location = location
    }
}
