/// Splits a byte stream into lines. Splitting happens on the newline byte, which never occurs inside a
/// multi-byte UTF-8 sequence, so a character cut between two network chunks is decoded whole.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds a chunk and returns the complete lines it finished (without their newline).
    public mutating func feed(_ chunk: [UInt8]) -> [String] {
        var lines: [String] = []
        var start = 0
        for index in chunk.indices where chunk[index] == 0x0A {
            pending.append(contentsOf: chunk[start..<index])
            lines.append(Self.decode(pending))
            pending.removeAll(keepingCapacity: true)
            start = index + 1
        }
        pending.append(contentsOf: chunk[start...])
        return lines
    }

    /// The last line when the stream did not end with a newline.
    public mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : Self.decode(pending)
    }

    private static func decode(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
