#!/usr/bin/env python3
"""Parses rendered step PowerShell with tree-sitter-powershell and prints what it found as JSON.

Used by StepTemplateTests.swift. Input on stdin: a JSON list of {"name", "text", "needles"}.
Output, per document: {"name", "errors": N (ERROR and MISSING nodes), "literals": [values of the
verbatim ('…') string literals], "outside": [needles found anywhere but inside a verbatim string
literal]}. A value is decoded with PowerShell's rule for verbatim strings: a doubled single-quote
character (' or one of U+2018-U+201B) stands for one. Exit status 3 with {"missing": …} when the
modules are not installed.
"""
import json
import re
import sys

try:
    import tree_sitter_powershell as tsp
    from tree_sitter import Language, Parser
except ImportError as error:
    print(json.dumps({"missing": f"{error}; run `bash .ci/setup`"}))
    sys.exit(3)

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def verbatim_value(text):
    if len(text) < 2 or text[0] not in SINGLE_QUOTES or text[-1] not in SINGLE_QUOTES:
        return None
    inner, value, index = text[1:-1], [], 0
    while index < len(inner):
        char = inner[index]
        if char in SINGLE_QUOTES:
            if index + 1 >= len(inner) or inner[index + 1] not in SINGLE_QUOTES:
                return None
            index += 1
            char = inner[index]
        value.append(char)
        index += 1
    return "".join(value)


def check(parser, document):
    text = document["text"]
    source = text.encode("utf-8")
    tree = parser.parse(source)
    result = {"name": document["name"], "errors": 0, "literals": [], "outside": []}
    spans, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            result["errors"] += 1
        if node.type == "string_literal":
            literal = source[node.start_byte:node.end_byte].decode("utf-8")
            value = verbatim_value(literal)
            if value is not None:
                start = len(source[:node.start_byte].decode("utf-8"))
                spans.append((start, start + len(literal)))
                result["literals"].append(value)
        stack.extend(node.children)
    for needle in document["needles"]:
        for match in re.finditer(re.escape(needle), text):
            if not any(low < match.start() and match.end() < high for low, high in spans):
                result["outside"].append(needle)
    return result


parser = Parser(Language(tsp.language()))
print(json.dumps([check(parser, document) for document in json.load(sys.stdin)]))
