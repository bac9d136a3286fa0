import Foundation

/// ISO 8601 times as the journal and the reports write them: UTC with milliseconds, `2026-05-01T10:00:00.123Z`.
enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let plainStyle = Date.ISO8601FormatStyle(timeZone: .gmt)

    /// The text of `date`.
    static func string(_ date: Date) -> String {
        style.format(date)
    }

    /// The date of `text`, with or without fractional seconds; `nil` when it is not an ISO 8601 UTC time.
    static func date(_ text: String) -> Date? {
        // Text in neither form is not a time: `nil` is the answer.
        (try? style.parse(text)) ?? (try? plainStyle.parse(text))
    }

    /// `date` rounded to whole milliseconds, as written.
    static func rounded(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// A compact UTC time for file names, `20260501T100000Z`.
    static func fileNameString(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ",
            parts.year ?? 0,
            parts.month ?? 0,
            parts.day ?? 0,
            parts.hour ?? 0,
            parts.minute ?? 0,
            parts.second ?? 0
        )
    }
}

extension Duration {
    /// The duration in seconds, rounded to milliseconds, as the journal and the reports write it.
    var roundedSeconds: Double {
        let (seconds, attoseconds) = components
        return ((Double(seconds) + Double(attoseconds) / 1e18) * 1000).rounded() / 1000
    }

    /// A duration from seconds as written.
    static func fromSeconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
