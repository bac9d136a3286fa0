import Foundation

/// Remembers the live objects (VMs, agents) this process started, for `LoopbackVM.stopAll()` and
/// `SSHAgentProcess.stopAll()`. Holds them weakly, so it never keeps one alive past its last user.
///
/// Safety (`@unchecked Sendable`): `entries` is only touched while holding `lock`.
package final class ChildRegistry<Owner: AnyObject>: @unchecked Sendable {
    private final class Entry {
        weak var owner: Owner?

        init(owner: Owner) {
            self.owner = owner
        }
    }

    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]

    /// An empty registry.
    package init() {}

    package func register(_ owner: Owner) {
        lock.withLock {
            entries[ObjectIdentifier(owner)] = Entry(owner: owner)
        }
    }

    /// Forgets an owner (it was stopped). Takes an identifier so that `deinit` can call it.
    package func unregister(_ id: ObjectIdentifier) {
        _ = lock.withLock {
            entries.removeValue(forKey: id)
        }
    }

    /// The registered owners still alive.
    package func owners() -> [Owner] {
        lock.withLock {
            entries.values.compactMap(\.owner)
        }
    }
}
