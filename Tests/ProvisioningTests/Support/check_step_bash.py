#!/usr/bin/env python3
"""Finds where a rendered bash script keeps its single-quoted literals, and prints it as JSON.

Used by StepTemplateTests.swift (shellcheck checks the script itself). Input on stdin: a JSON list of
{"name", "text", "needles"}. A small lexer follows bash's quoting: single quotes, double quotes,
$'…', backslash escapes, comments, $( … ), ${ … }, $(( … )) and backticks, nested inside each
other as bash nests them. Heredocs are refused (the step templates use none).

Output, per document: {"name", "words": [values of words written only as single-quoted pieces joined
by \\' (how octoprov quotes a value)], "outside": [needles found anywhere but inside a single-quoted
literal], "error": null or a message}.
"""
import json
import re
import sys


class LexError(Exception):
    pass


class Lexer:
    def __init__(self, text):
        self.text = text
        self.spans = []  # (start, end) of single-quoted contents
        self.words = []

    def at(self, index, token):
        return self.text.startswith(token, index)

    def single(self, index):
        """index is just after an opening '; returns the index after the closing one."""
        close = self.text.find("'", index)
        if close < 0:
            raise LexError(f"unterminated single quote at {index}")
        self.spans.append((index, close))
        return close + 1

    def word_of_single_quotes(self, index):
        """Reads 'a'\\''b'… starting at an opening quote; records the value; returns the end."""
        value = ""
        while True:
            end = self.single(index + 1)
            value += self.text[index + 1:end - 1]
            if self.at(end, "\\''"):
                value += "'"
                index = end + 2
                continue
            self.words.append(value)
            return end

    def normal(self, index, stop):
        """Unquoted code until `stop` (a closing character, or None for the end of the text)."""
        text = self.text
        while index < len(text):
            char = text[index]
            if stop is not None and char == stop:
                return index + 1
            if char == "\\":
                index += 2
            elif char == "'":
                index = self.word_of_single_quotes(index)
            elif char == '"':
                index = self.double(index + 1)
            elif char == "`":
                index = self.normal(index + 1, "`")
            elif char == "$":
                index = self.dollar(index)
            elif char == "#" and (index == 0 or text[index - 1] in " \t\n;&|()"):
                newline = text.find("\n", index)
                index = len(text) if newline < 0 else newline
            elif char == "(":
                index = self.normal(index + 1, ")")
            elif char == "<" and self.at(index, "<<") and not self.at(index, "<<<"):
                raise LexError(f"heredoc at {index}")
            elif char == "<" and self.at(index, "<<<"):
                index += 3
            else:
                index += 1
        if stop is not None:
            raise LexError(f"missing {stop!r}")
        return index

    def double(self, index):
        text = self.text
        while index < len(text):
            char = text[index]
            if char == '"':
                return index + 1
            if char == "\\":
                index += 2
            elif char == "`":
                index = self.normal(index + 1, "`")
            elif char == "$":
                index = self.dollar(index, quoted=True)
            else:
                index += 1
        raise LexError("unterminated double quote")

    def dollar(self, index, quoted=False):
        text = self.text
        if self.at(index, "$(("):
            return self.arithmetic(index + 3)
        if self.at(index, "$("):
            return self.normal(index + 2, ")")
        if self.at(index, "${"):
            return self.brace(index + 2)
        if self.at(index, "$'") and not quoted:
            index += 2
            while index < len(text) and text[index] != "'":
                index += 2 if text[index] == "\\" else 1
            return index + 1
        return index + 1

    def arithmetic(self, index):
        depth = 2
        text = self.text
        while index < len(text):
            char = text[index]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return index + 1
            elif char == "$":
                index = self.dollar(index)
                continue
            elif char == '"':
                index = self.double(index + 1)
                continue
            index += 1
        raise LexError("unterminated $((")

    def brace(self, index):
        text = self.text
        depth = 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return index + 1
            elif char == '"':
                index = self.double(index + 1)
                continue
            elif char == "'":
                index = self.single(index + 1)
                continue
            elif char == "$":
                index = self.dollar(index)
                continue
            index += 1
        raise LexError("unterminated ${")


def check(document):
    text = document["text"]
    result = {"name": document["name"], "words": [], "outside": [], "error": None}
    lexer = Lexer(text)
    try:
        lexer.normal(0, None)
    except LexError as error:
        result["error"] = str(error)
        return result
    result["words"] = lexer.words
    for needle in document["needles"]:
        for match in re.finditer(re.escape(needle), text):
            if not any(low <= match.start() and match.end() <= high for low, high in lexer.spans):
                result["outside"].append(needle)
    return result


print(json.dumps([check(document) for document in json.load(sys.stdin)]))
