import OctopusStandIn
import TestHelpers
import Testing
import Wire

/// The JSON documents the API stores and serves.
@Suite(.tags(.small))
struct APIJSONTests {
    @Test func keysKeepTheirOrderAndTypesStayDistinct() throws {
        let text =
            #"{"Name":"web1","IsDisabled":true,"Port":10933,"Ratio":0.5,"Roles":["web","db"],"Endpoint":{"Uri":null}}"#
        let document = try JSONValue(parsing: text)
        #expect(document.serialized() == text)
        #expect(document.objectValue?.keys == ["Name", "IsDisabled", "Port", "Ratio", "Roles", "Endpoint"])
        #expect(document["IsDisabled"] == .bool(true))
        #expect(document["IsDisabled"]?.integerValue == nil)
        #expect(document["Port"] == .integer(10933))
        #expect(document["Ratio"] == .double(0.5))
        #expect(document["Endpoint"]?["Uri"]?.isNull == true)
        #expect(document.value(at: ["Endpoint", "Uri"]) == .null)
    }

    @Test func settingAKeyKeepsItsPlaceAndNilRemovesIt() {
        var object = JSONValue.Object([("Id", .string("Machines-1")), ("Name", .string("a")), ("Links", .null)])
        object["Name"] = .string("b")
        object["Links"] = nil
        object["IsDisabled"] = .bool(false)
        #expect(JSONValue.object(object).serialized() == #"{"Id":"Machines-1","Name":"b","IsDisabled":false}"#)
    }

    @Test func stringsEscapeAndUnescape() throws {
        let parsed = try JSONValue(parsing: #""quote \" slash \/ tab \t nl \n é \u00e9 \ud83d\ude00 ctl \u0001""#)
        #expect(parsed == .string("quote \" slash / tab \t nl \n é é 😀 ctl \u{01}"))
        #expect(parsed.serialized() == #""quote \" slash / tab \t nl \n é é 😀 ctl \u0001""#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "tru", "\"\\x\"", "\"\\ud83d\"", "{\"a\" 1}", "[1] 2",
        "\"a\u{01}\"",
    ])
    func invalidTextIsRefusedWithAnOffset(text: String) {
        #expect(throws: JSONValueError.self) { try JSONValue(parsing: text) }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect { try JSONValue(parsing: deep) } throws: { error in
            (error as? JSONValueError)?.reason.contains("nesting") == true
        }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSONValue(parsing: fine).serialized() == fine)
    }

    @Test func largeIntegersBecomeDoubles() throws {
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(Int64.max))
        #expect(try JSONValue(parsing: "92233720368547758070") == .double(9.223_372_036_854_775_807e19))
        #expect(try JSONValue(parsing: "1e3").integerValue == 1000)
    }
}
