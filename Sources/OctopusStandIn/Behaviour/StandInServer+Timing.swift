extension StandInServer {
    /// How fast the server's behaviour runs. Octopus's own schedules (hourly health checks, a trigger's
    /// cron) are compressed to seconds so tests see contacts quickly; every value can be set by an
    /// environment variable (seconds, decimals allowed).
    public struct Timing: Sendable, Hashable {
        /// The scheduler's period: heartbeat, queued tasks, webhooks. `OCTOPUS_STANDIN_TICK_SECONDS`, default 1.
        public var tick: Double = 1
        /// How often each enabled scheduled trigger fires (the first time on the first tick).
        /// `OCTOPUS_STANDIN_TRIGGER_SECONDS`, default 5.
        public var triggerInterval: Double = 5
        /// How often enabled targets and workers are health-checked (the first time on the first tick).
        /// `OCTOPUS_STANDIN_HEALTH_CHECK_SECONDS`, default 5.
        public var healthCheckInterval: Double = 5
        /// The TCP connect timeout for targets, workers and webhooks.
        /// `OCTOPUS_STANDIN_CONNECT_TIMEOUT_SECONDS`, default 2.
        public var connectTimeout: Double = 2
        /// The longest a webhook POST may take (a subscription's shorter `WebhookTimeout` wins).
        /// `OCTOPUS_STANDIN_WEBHOOK_TIMEOUT_SECONDS`, default 5.
        public var webhookTimeout: Double = 5
        /// How long an HTTP client may take to send a request's header or stall its body.
        /// `OCTOPUS_STANDIN_HTTP_TIMEOUT_SECONDS`, default 30.
        public var httpTimeout: Double = 30

        /// The defaults.
        public init() {}

        /// The environment variables, in the order of the properties.
        public static let environmentVariables = [
            "OCTOPUS_STANDIN_TICK_SECONDS", "OCTOPUS_STANDIN_TRIGGER_SECONDS", "OCTOPUS_STANDIN_HEALTH_CHECK_SECONDS",
            "OCTOPUS_STANDIN_CONNECT_TIMEOUT_SECONDS", "OCTOPUS_STANDIN_WEBHOOK_TIMEOUT_SECONDS",
            "OCTOPUS_STANDIN_HTTP_TIMEOUT_SECONDS",
        ]

        /// The defaults, overridden by the `OCTOPUS_STANDIN_*_SECONDS` variables that are set.
        /// - Throws: ``StandInServerError`` with code ``StandInServerError/Code/invalidSetting`` naming the
        ///   variable when a value is not a positive number (at most one day).
        public init(environment: [String: String]) throws(StandInServerError) {
            let paths: [WritableKeyPath<Timing, Double>] = [
                \.tick, \.triggerInterval, \.healthCheckInterval, \.connectTimeout, \.webhookTimeout, \.httpTimeout,
            ]
            for (name, path) in zip(Self.environmentVariables, paths) {
                guard let text = environment[name], !text.isEmpty else { continue }
                guard let value = Double(text), value.isFinite, value > 0, value <= 86_400 else {
                    throw StandInServerError(
                        .invalidSetting,
                        "\(name) must be a positive number of seconds (at most 86400), not '\(text)'."
                    )
                }
                self[keyPath: path] = value
            }
        }
    }
}
