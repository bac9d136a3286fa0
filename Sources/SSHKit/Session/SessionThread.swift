import Foundation

/// A dedicated OS thread that runs one SSH session's blocking work, one job at a time.
///
/// libssh2 allows one thread at a time per session (and all its channels and SFTP handles), and its
/// calls block on the network. Running them on Swift's cooperative pool would stall every other task
/// on this 2-core machine, so each session owns a thread: jobs are queued and run in order, which also
/// serialises all access to the session by construction.
final class SessionThread: @unchecked Sendable {
    // Safety: `jobs` and `stopping` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String) {
        // The thread holds `self` until `shutdown()` lets its loop end.
        let worker = Thread { self.runLoop() }
        worker.name = name
        worker.stackSize = 1 << 20
        worker.start()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping {
                condition.wait()
            }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Queues `body` on the session thread and suspends until it has run.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets queued jobs finish, then ends the thread. Idempotent.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }
}
