import Foundation
import Wire

/// One part of a `multipart/form-data` body (RFC 7578): its form field name, the file name when it is
/// a file, its own header fields and its bytes.
struct HTTPMultipartPart: Sendable {
    var name: String
    var filename: String?
    var headers: [(name: String, value: String)]
    var data: [UInt8]
}

/// Parses `multipart/form-data` bodies, as the Export/Import upload endpoint receives them (field
/// `fileData`).
enum HTTPMultipart {
    /// The boundary parameter of a `multipart/form-data` content type, or `nil` when the type is not
    /// multipart/form-data or has no boundary.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = parts.first, type.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value.isEmpty || value.utf8.count > 70 ? nil : value
        }
        return nil
    }

    /// Splits a body into its parts.
    /// - Throws: ``HTTPReadError`` with status 400 and a sentence saying what is malformed.
    static func parse(body: [UInt8], boundary: String) throws(HTTPReadError) -> [HTTPMultipartPart] {
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = find(delimiter, in: body, from: 0) else {
            throw malformed("the boundary never appears")
        }
        var parts: [HTTPMultipartPart] = []
        while true {
            position += delimiter.count
            // `--` after a delimiter closes the body.
            if body.count - position >= 2, body[position] == 0x2D, body[position + 1] == 0x2D { return parts }
            // Skip transport padding and the CRLF that ends the delimiter line.
            while position < body.count, body[position] == 0x20 || body[position] == 0x09 { position += 1 }
            guard body.count - position >= 2, body[position] == 0x0D, body[position + 1] == 0x0A else {
                throw malformed("a boundary line does not end with CRLF")
            }
            position += 2
            guard let headEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position - 2) else {
                throw malformed("a part has no blank line after its header fields")
            }
            let headText = headEnd > position ? String(decoding: body[position..<headEnd], as: UTF8.self) : ""
            let contentStart = headEnd + 4
            guard let next = find([0x0D, 0x0A] + delimiter, in: body, from: contentStart - 2) else {
                throw malformed("a part is not closed by the boundary")
            }
            let contentEnd = max(contentStart, next)
            var headers: [(name: String, value: String)] = []
            for line in headText.split(separator: "\r\n") where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else {
                    throw malformed("a part has a malformed header field")
                }
                headers.append(
                    (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                )
            }
            guard let disposition = headers.first(where: { $0.name.lowercased() == "content-disposition" })?.value,
                let name = parameter("name", in: disposition)
            else {
                throw malformed("a part has no Content-Disposition name")
            }
            parts.append(
                HTTPMultipartPart(
                    name: name,
                    filename: parameter("filename", in: disposition),
                    headers: headers,
                    data: Array(body[contentStart..<contentEnd])
                )
            )
            position = next + 2
        }
    }

    private static func malformed(_ what: String) -> HTTPReadError {
        HTTPReadError(status: 400, message: "Malformed multipart/form-data body: \(what).")
    }

    /// A parameter of a `Content-Disposition` value (`form-data; name="fileData"; filename="x.zip"`).
    static func parameter(_ wanted: String, in value: String) -> String? {
        var index = value.startIndex
        // Walk the parameters so that a `;` inside a quoted file name does not split it.
        while index < value.endIndex {
            guard let semicolon = value[index...].firstIndex(of: ";") else { return nil }
            index = value.index(after: semicolon)
            while index < value.endIndex, value[index] == " " { index = value.index(after: index) }
            guard let equals = value[index...].firstIndex(of: "=") else { return nil }
            let name = value[index..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var cursor = value.index(after: equals)
            var result = ""
            if cursor < value.endIndex, value[cursor] == "\"" {
                cursor = value.index(after: cursor)
                while cursor < value.endIndex, value[cursor] != "\"" {
                    if value[cursor] == "\\", value.index(after: cursor) < value.endIndex {
                        cursor = value.index(after: cursor)
                    }
                    result.append(value[cursor])
                    cursor = value.index(after: cursor)
                }
                if cursor < value.endIndex { cursor = value.index(after: cursor) }
            } else {
                while cursor < value.endIndex, value[cursor] != ";" {
                    result.append(value[cursor])
                    cursor = value.index(after: cursor)
                }
                result = result.trimmingCharacters(in: .whitespaces)
            }
            if name == wanted { return result }
            index = cursor
        }
        return nil
    }

    /// The offset of the first occurrence of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = max(0, start)
        let first = needle[0]
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
