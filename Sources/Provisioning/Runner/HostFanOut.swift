/// What happened on one host: the work's value, or the error that ended it. One host's failure never
/// reaches another host.
public struct HostOutcome<Value: Sendable>: Sendable {
    public var host: String
    public var result: Result<Value, any Error>
    public var duration: Duration
}

/// Runs `work` for every host, at most `parallel` at once, and returns one outcome per host in the
/// order given. Errors are recorded per host, never thrown across hosts; cancelling the caller cancels
/// the hosts still running.
public func forEachHost<Host: Sendable, Value: Sendable>(
    _ hosts: [Host],
    name: @Sendable (Host) -> String,
    parallel: Int,
    _ work: @escaping @Sendable (Host) async throws -> Value
) async -> [HostOutcome<Value>] {
    let limit = max(1, parallel)
    var outcomes = [HostOutcome<Value>?](repeating: nil, count: hosts.count)
    await withTaskGroup(of: (Int, HostOutcome<Value>).self) { group in
        var next = 0
        func launch(_ index: Int) {
            let host = hosts[index]
            let hostName = name(host)
            group.addTask {
                let clock = ContinuousClock()
                let started = clock.now
                let result: Result<Value, any Error>
                do {
                    result = .success(try await work(host))
                } catch {
                    result = .failure(error)
                }
                return (index, HostOutcome(host: hostName, result: result, duration: started.duration(to: clock.now)))
            }
        }
        while next < hosts.count && next < limit {
            launch(next)
            next += 1
        }
        for await (index, outcome) in group {
            outcomes[index] = outcome
            if next < hosts.count {
                launch(next)
                next += 1
            }
        }
    }
    return outcomes.compactMap { $0 }
}
