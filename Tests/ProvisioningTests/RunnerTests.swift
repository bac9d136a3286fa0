import Foundation
import Provisioning
import Testing

/// The runner's pieces that need no host: reading a script's result line and writing a step's stdin.
@Suite struct StepScriptResultTests {
    @Test func theLastLineIsTheResult() throws {
        let output = """
            Checking the database.
            OCTOPROV-RESULT {"changed":true,"message":"Restored \\"it\\".","facts":{"database":"Octo","n":"3"}}

            """
        let result = try #require(StepScriptResult.parse(output: output))
        #expect(
            result
                == StepScriptResult(changed: true, message: "Restored \"it\".", facts: ["database": "Octo", "n": "3"])
        )
    }

    @Test(arguments: [
        "",
        "no result here",
        "OCTOPROV-RESULT {\"changed\":true,\"message\":\"m\"}\nlater progress",
        "OCTOPROV-RESULT {\"changed\":\"yes\",\"message\":\"m\"}",
        "OCTOPROV-RESULT {\"changed\":false}",
        "OCTOPROV-RESULT {\"changed\":false,\"message\":\"m\",\"facts\":{\"n\":3}}",
        "OCTOPROV-RESULT {\"changed\":false,\"message\":\"m\",\"facts\":[]}",
        "OCTOPROV-RESULT not json",
    ])
    func anythingElseIsNoResult(output: String) {
        #expect(StepScriptResult.parse(output: output) == nil)
    }

    @Test func factsAreOptional() throws {
        let result = try #require(
            StepScriptResult.parse(output: "OCTOPROV-RESULT {\"changed\":false,\"message\":\"ok\"}")
        )
        #expect(!result.changed && result.facts.isEmpty)
    }
}

@Suite struct StepSecretValuesTests {
    @Test func onlyTheStepsOwnSecretsGoOnItsStdinAsBase64Lines() throws {
        let values = StepSecretValues(values: [
            .masterKey: "k3y+/=\n'$(x)'", .adminPassword: "pässword", .adminAPIKey: "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ])
        let admin = try #require(StepCatalogue.all.first { $0.name == "admin" })
        let text = String(decoding: values.standardInput(for: admin), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(text.hasSuffix("\n"))
        #expect(lines.allSatisfy { !$0.contains("pässword") && !$0.contains("API-") })
        var decoded: [String: String] = [:]
        for line in lines {
            let name = String(line.prefix { $0 != "=" })
            let value = try #require(Data(base64Encoded: String(line.dropFirst(name.count + 1))))
            decoded[name] = String(decoding: value, as: UTF8.self)
        }
        #expect(decoded == ["admin_password": "pässword", "admin_api_key": "API-ABCDEFGHIJKLMNOPQRSTUVWXYZ"])

        let connect = try #require(StepCatalogue.all.first { $0.name == "connect-database" })
        let connectText = String(decoding: values.standardInput(for: connect), as: UTF8.self)
        #expect(connectText == "master_key=" + Data("k3y+/=\n'$(x)'".utf8).base64EncodedString() + "\n")

        let configure = try #require(StepCatalogue.all.first { $0.name == "configure" })
        #expect(values.standardInput(for: configure).isEmpty)
        #expect(values.redactor.redact("key k3y+/=\n'$(x)' and pässword") == "key *** and ***")
    }

    @Test func generatedAPIKeysHaveOctopusShapeAndDiffer() {
        let keys = (0..<20).map { _ in OctopusAPIKey.generate() }
        #expect(Set(keys).count == keys.count)
        for key in keys {
            #expect(key.hasPrefix("API-") && key.count == 30)
            #expect(key.dropFirst(4).allSatisfy { $0.isUppercase || $0.isNumber })
        }
    }
}
