/// What an instance's upgrade journal (`<instance>@upgrade`, docs/upgrade.md) says about a host's version.
extension Journal {
    /// The version the host runs because of `upgrade`, or `nil` when the journal says nothing about it (no upgrade,
    /// or one `rebuild` cleared):
    ///
    /// - the target of the last upgrade, once its `upgrade-database` succeeded;
    /// - otherwise the version that upgrade started from (an earlier upgrade's target, or the inventory's version):
    ///   the host is still there.
    ///
    /// Asked of the instance's upgrade journal.
    ///
    /// - Parameter host: The host's name.
    /// - Returns: The version, as recorded (`2024.1.11892`).
    public func upgradedVersion(host: String) -> String? {
        guard let record = self.record(host: host, step: .upgradePreflight), record.rerun == nil else { return nil }
        if succeeded(host: host, step: .upgradeDatabase) { return record.facts["target_version"] }
        return record.facts["from_version"]
    }

    /// The target of an upgrade that stopped on `host` after draining the node and before letting it take tasks
    /// again (`undrain`): its service is stopped or runs a version provisioning did not leave, whatever the
    /// provisioning journal says. `nil` when no upgrade stopped there (or a `rebuild` cleared it).
    ///
    /// Asked of the instance's upgrade journal.
    ///
    /// - Parameter host: The host's name.
    /// - Returns: The upgrade's target version, as recorded.
    public func interruptedUpgradeTarget(host: String) -> String? {
        guard let record = self.record(host: host, step: .upgradePreflight), record.rerun == nil,
            succeeded(host: host, step: .drain), !succeeded(host: host, step: .undrain)
        else { return nil }
        return record.facts["target_version"]
    }
}
