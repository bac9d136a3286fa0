#!/usr/bin/env python3
"""Parses PowerShell from stdin with tree-sitter-powershell and prints what it found as JSON.

Used by TemplateTests.swift to check that a rendered template has no syntax error and that each
interpolated value is one verbatim string whose value is the original text.

Output: {"errors": N, "strings": [{"text": "'it''s'", "value": "it's"}]}, where N counts ERROR and
MISSING nodes and "value" applies PowerShell's rule for verbatim strings (a doubled single-quote
character, ' or one of U+2018-U+201B, stands for one); {"missing": "..."} (exit status 3) when the
modules are not installed.
"""
import json
import sys

try:
    import tree_sitter_powershell as tsp
    from tree_sitter import Language, Parser
except ImportError as error:
    print(json.dumps({"missing": f"{error}; run `bash .ci/setup`"}))
    sys.exit(3)

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def verbatim_value(text):
    """The value of a PowerShell single-quoted string literal, or None if text is not one."""
    if len(text) < 2 or text[0] not in SINGLE_QUOTES or text[-1] not in SINGLE_QUOTES:
        return None
    inner, value, index = text[1:-1], [], 0
    while index < len(inner):
        char = inner[index]
        if char in SINGLE_QUOTES:
            if index + 1 >= len(inner) or inner[index + 1] not in SINGLE_QUOTES:
                return None  # a lone quote would have ended the string
            index += 1
            char = inner[index]
        value.append(char)
        index += 1
    return "".join(value)


def main():
    source = sys.stdin.buffer.read()
    tree = Parser(Language(tsp.language())).parse(source)
    errors, strings, stack = 0, [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            errors += 1
        if node.type == "string_literal":
            text = source[node.start_byte:node.end_byte].decode("utf-8")
            strings.append({"text": text, "value": verbatim_value(text), "start": node.start_byte})
        stack.extend(node.children)
    strings.sort(key=lambda s: s.pop("start"))
    print(json.dumps({"errors": errors, "strings": strings}))


main()
