import SSHKit
import Synchronization

/// Adds up the progress of the files of one transfer (one file, or every file of the server folders) and lets it
/// through about once a second and at the end, so that the console shows the whole step, not a line per file.
final class TransferTally: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var completed: [String: UInt64] = [:]
        var finished = false
    }

    private let totalBytes: UInt64
    private let state = Mutex(State())

    /// - Parameter totalBytes: The bytes of everything the step transfers.
    init(totalBytes: UInt64) {
        self.totalBytes = totalBytes
    }

    /// The step's bytes done so far when it is time to report them, else `nil`.
    func update(_ progress: TransferProgress) -> UInt64? {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.completed[progress.path] = progress.completedBytes
            let done = state.completed.values.reduce(0, +)
            let complete = done >= totalBytes
            guard !state.finished, complete || state.last.map({ $0.duration(to: now) >= .seconds(1) }) ?? true else {
                return nil
            }
            state.last = now
            state.finished = complete
            return done
        }
    }
}
