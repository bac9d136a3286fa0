import Provisioning
import Synchronization
import Testing

@Suite struct HostFanOutTests {
    struct Boom: Error {}

    @Test func respectsTheParallelLimitKeepsOrderAndContainsFailures() async {
        let hosts = (1...10).map { "vm\($0)" }
        let running = Mutex((now: 0, peak: 0))
        let outcomes = await forEachHost(hosts, name: \.self, parallel: 3) { host in
            running.withLock { state in
                state.now += 1
                state.peak = max(state.peak, state.now)
            }
            try? await Task.sleep(for: .milliseconds(20))
            running.withLock { $0.now -= 1 }
            if host == "vm4" { throw Boom() }
            return host.uppercased()
        }
        #expect(outcomes.map(\.host) == hosts)
        #expect(running.withLock { $0.peak } == 3)
        for outcome in outcomes {
            switch outcome.result {
            case .success(let value): #expect(value == outcome.host.uppercased())
            case .failure(let error): #expect(outcome.host == "vm4" && error is Boom)
            }
        }
    }

    @Test func aParallelLimitBelowOneStillRunsEveryHost() async {
        let outcomes = await forEachHost(["a", "b"], name: \.self, parallel: 0) { $0 }
        #expect(outcomes.map(\.host) == ["a", "b"])
    }
}
