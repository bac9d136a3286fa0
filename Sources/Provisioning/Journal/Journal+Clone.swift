/// What an instance's provisioning journal says about a host's clone.
extension Journal {
    /// The SHA-256 of the backup the host's clone was restored from and quarantined for, or `nil` when the journal
    /// does not say: no clone there, or its `upload-backup`, `restore` or `quarantine` did not last succeed.
    ///
    /// `upload-backup` records the checksum of the file it sent (or found already sent); `restore` and `quarantine`
    /// rerun whenever that checksum changes, so when all three last succeeded, the database holds that backup's
    /// quarantine record. `upgrade` and `verify` check the clone against it rather than against the file the
    /// inventory's `backup:` names now, which a nightly backup may have replaced since.
    ///
    /// Asked of the instance's provisioning journal.
    ///
    /// - Parameter host: The host's name.
    /// - Returns: The checksum, as 64 lower-case hex digits.
    public func restoredBackup(host: String) -> String? {
        guard [StepName.uploadBackup, .restore, .quarantine].allSatisfy({ succeeded(host: host, step: $0) }),
            let sha256 = record(host: host, step: .uploadBackup)?.facts["backup_sha256"],
            sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        return sha256
    }
}
