/// How an unknown host key is treated, as named in an inventory's `host_key_policy`.
///
/// A changed key is always refused, whatever the policy; SSHKit turns the name into a validator.
public enum HostKeyPolicyName: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Refuse hosts that are not already in `known_hosts` (the default).
    case strict
    /// Trust a host seen for the first time and record its key in `known_hosts`.
    case acceptNew = "accept-new"

    /// The name as written in an inventory.
    public var description: String { rawValue }
}
