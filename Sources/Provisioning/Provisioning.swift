/// The provisioning core: inventories, instance specs, templates, steps, runner, journal, reports.
///
/// It builds on SSHKit and never imports libssh2 directly.
public enum Provisioning {
    /// The octoprov version, printed by `octoprov --version`.
    public static let version = "0.1.0"
}
