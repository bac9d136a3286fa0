import SSHKit
import Testing

@Suite struct LineSplitterTests {
    @Test func multiByteCharactersCutBetweenChunksDecodeWhole() {
        let text = "grüße ✓ 日本語 🐙\nzweite Zeile é\n"
        let bytes = Array(text.utf8)
        // Every possible cut, including inside each multi-byte sequence.
        for cut in 1..<bytes.count {
            var splitter = LineSplitter()
            var lines = splitter.feed(Array(bytes[..<cut]))
            lines += splitter.feed(Array(bytes[cut...]))
            #expect(lines == ["grüße ✓ 日本語 🐙", "zweite Zeile é"], "cut at byte \(cut)")
            #expect(splitter.finish() == nil)
        }
    }

    @Test func oneByteChunksAndAFinalLineWithoutNewline() {
        var splitter = LineSplitter()
        var lines: [String] = []
        for byte in Array("a\r\nb🐙".utf8) { lines += splitter.feed([byte]) }
        #expect(lines == ["a"])
        #expect(splitter.finish() == "b🐙")
        #expect(splitter.finish() == nil)
    }

    @Test func invalidUTF8IsReplacedNotDropped() {
        var splitter = LineSplitter()
        #expect(splitter.feed([0x61, 0xFF, 0x62, 0x0A]) == ["a\u{FFFD}b"])
    }
}
