import Foundation

/// The zip files Export/Import Projects exchanges: written with every entry *stored* (method 0, no
/// compression), which any unzip reads; read back only when every entry is stored, which is what the
/// stand-in writes. Foundation on Linux has no deflate, and an export only ever travels from one
/// stand-in to another unchanged, so a compressed entry is refused with a sentence saying so.
///
/// Names are UTF-8 (general-purpose flag bit 11), sizes below 4 GiB (no zip64), each entry's CRC-32
/// is checked on reading.
enum ZipArchive {
    /// One file in an archive.
    struct Entry: Sendable, Hashable {
        /// The path inside the archive, `/`-separated, never absolute and never with `..`.
        var name: String
        var data: [UInt8]
    }

    /// A zip that cannot be read.
    struct ReadError: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// Builds a zip holding `entries` in the given order.
    /// - Parameters:
    ///   - entries: The files.
    ///   - date: The modification time recorded for every entry (DOS time, local to nothing: UTC).
    static func write(_ entries: [Entry], date: Date = Date()) -> [UInt8] {
        let (dosTime, dosDate) = dosDateTime(date)
        var output: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = crc32(entry.data)
            let offset = UInt32(output.count)
            output += le32(0x0403_4B50)
            output += le16(10)  // version needed: 1.0, stored
            output += le16(0x0800)  // UTF-8 names
            output += le16(0)  // stored
            output += le16(dosTime) + le16(dosDate)
            output += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(entry.data.count))
            output += le16(UInt16(name.count)) + le16(0)
            output += name
            output += entry.data

            central += le32(0x0201_4B50)
            central += le16(0x0314)  // made by: Unix, 2.0
            central += le16(10) + le16(0x0800) + le16(0)
            central += le16(dosTime) + le16(dosDate)
            central += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(entry.data.count))
            central += le16(UInt16(name.count)) + le16(0) + le16(0)  // name, extra, comment lengths
            central += le16(0) + le16(0)  // disk number, internal attributes
            central += le32(UInt32(0o100644) << 16)  // external attributes: a regular file, rw-r--r--
            central += le32(offset)
            central += name
        }
        let centralOffset = UInt32(output.count)
        output += central
        output += le32(0x0605_4B50)
        output += le16(0) + le16(0)
        output += le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        output += le32(UInt32(central.count)) + le32(centralOffset)
        output += le16(0)
        return output
    }

    /// Reads every entry of a zip (folders, names ending in `/`, are left out).
    /// - Throws: ``ReadError`` naming what is wrong: not a zip, truncated, a compressed or encrypted
    ///   entry, a CRC mismatch, an unsafe name.
    static func read(_ bytes: [UInt8]) throws(ReadError) -> [Entry] {
        guard bytes.count >= 22 else { throw ReadError(description: "it is \(bytes.count) bytes, too short for a zip") }
        var end = -1
        var index = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while index >= lowest {
            if u32(bytes, index) == 0x0605_4B50 {
                end = index
                break
            }
            index -= 1
        }
        guard end >= 0 else { throw ReadError(description: "it has no zip end-of-central-directory record") }
        let count = Int(u16(bytes, end + 10))
        let centralSize = Int(u32(bytes, end + 12))
        let centralOffset = Int(u32(bytes, end + 16))
        guard centralOffset + centralSize <= end else {
            throw ReadError(description: "its central directory lies outside the file (truncated?)")
        }
        var entries: [Entry] = []
        var position = centralOffset
        for _ in 0..<count {
            guard position + 46 <= end, u32(bytes, position) == 0x0201_4B50 else {
                throw ReadError(description: "its central directory is malformed")
            }
            let flags = u16(bytes, position + 8)
            let method = u16(bytes, position + 10)
            let crc = u32(bytes, position + 16)
            let compressedSize = Int(u32(bytes, position + 20))
            let size = Int(u32(bytes, position + 24))
            let nameLength = Int(u16(bytes, position + 28))
            let extraLength = Int(u16(bytes, position + 30))
            let commentLength = Int(u16(bytes, position + 32))
            let localOffset = Int(u32(bytes, position + 42))
            guard position + 46 + nameLength <= end else { throw ReadError(description: "an entry name is truncated") }
            let name = String(decoding: bytes[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
            position += 46 + nameLength + extraLength + commentLength
            if name.hasSuffix("/") { continue }
            guard flags & 0x0001 == 0 else { throw ReadError(description: "the entry \(name) is encrypted") }
            guard method == 0, compressedSize == size else {
                throw ReadError(
                    description: "the entry \(name) is compressed (method \(method)); the stand-in reads only the "
                        + "stored entries it writes itself, so upload the zip exactly as the export produced it"
                )
            }
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.hasPrefix("/"), !name.contains("\\"), !parts.contains(".."), !parts.contains("") else {
                throw ReadError(description: "the entry name \(name) is not a safe relative path")
            }
            guard localOffset + 30 <= bytes.count, u32(bytes, localOffset) == 0x0403_4B50 else {
                throw ReadError(description: "the local header of \(name) is missing")
            }
            let dataStart = localOffset + 30 + Int(u16(bytes, localOffset + 26)) + Int(u16(bytes, localOffset + 28))
            guard dataStart + size <= bytes.count else {
                throw ReadError(description: "the entry \(name) is truncated")
            }
            let data = Array(bytes[dataStart..<(dataStart + size)])
            guard crc32(data) == crc else {
                throw ReadError(description: "the entry \(name) fails its CRC-32 check (the file is damaged)")
            }
            entries.append(Entry(name: name, data: data))
        }
        return entries
    }

    /// Whether bytes start like a zip (a local file header, or an empty archive's end record).
    static func looksLikeZip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && (u32(bytes, 0) == 0x0403_4B50 || u32(bytes, 0) == 0x0605_4B50)
    }

    // MARK: - Helpers

    private static let crcTable: [UInt32] = (0..<256).map { value in
        var crc = UInt32(value)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    /// The zip (IEEE 802.3) CRC-32 of some bytes.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static func dosDateTime(_ date: Date) -> (time: UInt16, date: UInt16) {
        let components = Calendar(identifier: .gregorian).dateComponents(
            in: TimeZone(identifier: "UTC") ?? .current,
            from: date
        )
        let year = max(1980, components.year ?? 1980)
        let time = ((components.hour ?? 0) << 11) | ((components.minute ?? 0) << 5) | ((components.second ?? 0) / 2)
        let day = ((year - 1980) << 9) | ((components.month ?? 1) << 5) | (components.day ?? 1)
        return (UInt16(time), UInt16(day))
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    private static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
    }

    private static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
