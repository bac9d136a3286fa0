#!/usr/bin/env python3
"""Checks rendered step T-SQL with sqlglot (read="tsql") and prints what it found as JSON.

Used by StepTemplateTests.swift. Input on stdin: a JSON list of {"name", "text", "needles"}. The text is
split into batches at lines holding only GO (as sqlcmd does) and each batch into statements at `;`
tokens. sqlglot's T-SQL grammar has no `IF <condition> <statement>` without BEGIN and no RESTORE, so
those two are taken apart here with sqlglot's own tokenizer: the IF's condition and its statement
are parsed separately, and a RESTORE is described from its tokens.

Output, per document: {"name", "statements": ["Use [db]", "Update Machine", "If Exists(sys.tables)
-> Delete OctopusServerNodeStatus", …], "literals": [values of string-literal expressions (N'…',
NCHAR(n), joined with +)], "identifiers": [bracketed identifiers], "outside": [needles found outside
a string literal or bracketed identifier], "line_starts_in_literal": N, "error": null or a message}.
Exit status 3 with {"missing": …} when sqlglot is not installed.
"""
import json
import logging
import re
import sys

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.tsql import TSQL
    from sqlglot.tokens import TokenType
except ImportError as error:
    print(json.dumps({"missing": f"{error}; run `bash .ci/setup`"}))
    sys.exit(3)

logging.disable(logging.CRITICAL)  # sqlglot warns about each PRINT it keeps as a Command
LITERAL_TOKENS = {TokenType.STRING, TokenType.NATIONAL_STRING}


def literal_value(node):
    """The text a string-literal expression evaluates to, or None if it is anything else."""
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, exp.National) or (isinstance(node, exp.Literal) and node.is_string):
        return node.this
    if isinstance(node, exp.Add):
        left, right = literal_value(node.this), literal_value(node.expression)
        return None if left is None or right is None else left + right
    if isinstance(node, (exp.Anonymous, exp.Chr)):
        name = node.name.upper() if isinstance(node, exp.Anonymous) else "NCHAR"
        args = node.expressions
        if name == "NCHAR" and len(args) == 1 and isinstance(args[0], exp.Literal) and not args[0].is_string:
            return chr(int(args[0].this))
    return None


def table_name(node):
    table = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if table is None:
        return "?"
    return ".".join(part for part in (table.db, table.name) if part and part.lower() != "dbo")


def describe(statement, literals):
    """A short signature of one parsed statement; collects its literal values."""
    for node in statement.walk():
        value = literal_value(node)
        if value is not None:
            literals.append(value)
    if isinstance(statement, exp.Use):
        return "Use []"
    if isinstance(statement, exp.Set):
        item = statement.expressions[0] if statement.expressions else None
        target = item.this if item is not None and hasattr(item, "this") else None
        if isinstance(target, exp.EQ) and isinstance(target.this, exp.Parameter):
            return "Set @" + target.this.name
        if isinstance(target, exp.EQ) and isinstance(target.expression, exp.Var):
            return "Set " + target.this.name.upper() + " " + target.expression.name.upper()
        return "Set ?"
    if isinstance(statement, exp.Declare):
        names = []
        for item in statement.expressions:
            targets = item.this if isinstance(item.this, list) else [item.this]
            names += ["@" + target.name for target in targets]
        return "Declare " + ", ".join(names)
    if isinstance(statement, exp.Transaction):
        return "Begin"
    if isinstance(statement, exp.Commit):
        return "Commit"
    if isinstance(statement, exp.Update):
        return "Update " + table_name(statement.this)
    if isinstance(statement, exp.Delete):
        return "Delete " + table_name(statement.this)
    if isinstance(statement, exp.Insert):
        return "Insert " + table_name(statement.this)
    if isinstance(statement, exp.Select):
        if any(isinstance(item, exp.EQ) and isinstance(item.this, exp.Parameter) for item in statement.expressions):
            return "Select @ from " + table_name(statement)
        source = statement.args.get("from") or statement.args.get("from_")
        return "Select from " + table_name(source) if source is not None else "Select"
    if isinstance(statement, exp.Command):
        return "Command " + statement.this.upper()
    return type(statement).__name__


def split_statements(text, tokens):
    """(start, end) character spans of the statements of a batch, split at `;` outside parentheses."""
    spans, depth, start = [], 0, None
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        if token.token_type == TokenType.SEMICOLON and depth == 0:
            if start is not None:
                spans.append((start, token.start))
            start = None
            continue
        if start is None:
            start = token.start
    if start is not None:
        spans.append((start, len(text)))
    return spans


def parse_one(text, literals):
    statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]
    if len(statements) != 1:
        raise ValueError(f"expected one statement in {text!r}, found {len(statements)}")
    return describe(statements[0], literals)


def statement_signature(text, literals, identifiers):
    tokens = TSQL().tokenize(text)
    first = tokens[0].text.upper()
    if first == "IF":
        negated = len(tokens) > 1 and tokens[1].text.upper() == "NOT"
        index = 2 if negated else 1
        if tokens[index].text.upper() != "EXISTS" or tokens[index + 1].token_type != TokenType.L_PAREN:
            raise ValueError(f"IF without EXISTS (…): {text!r}")
        depth, close = 0, None
        for position in range(index + 1, len(tokens)):
            if tokens[position].token_type == TokenType.L_PAREN:
                depth += 1
            elif tokens[position].token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    close = position
                    break
        condition = text[tokens[index + 2].start:tokens[close].start]
        then = text[tokens[close + 1].start:]
        condition_signature = parse_one(condition, literals).replace("Select from ", "")
        prefix = "If Not Exists(" if negated else "If Exists("
        return prefix + condition_signature + ") -> " + statement_signature(then, literals, identifiers)
    words = [token.text.upper() for token in tokens]

    def joined(part):
        out = []
        for token in part:
            if token.token_type == TokenType.IDENTIFIER:
                out.append("[]")
            elif out and out[-1] == "@":
                out[-1] = "@" + token.text
            else:
                out.append(token.text.upper() if token.token_type != TokenType.PARAMETER else "@")
        return " ".join(out).replace(" ,", ",")

    if first == "BACKUP":
        if words[1] != "DATABASE" or tokens[2].token_type != TokenType.IDENTIFIER or words[3:5] != ["TO", "DISK"]:
            raise ValueError(f"unexpected BACKUP: {text!r}")
        return "Backup DATABASE " + joined(tokens[2:])
    if first == "RESTORE":
        kind = words[1]
        if kind in ("FILELISTONLY", "HEADERONLY"):
            if words[2:4] != ["FROM", "DISK"] or tokens[4].token_type != TokenType.EQ:
                raise ValueError(f"unexpected RESTORE {kind}: {text!r}")
            return f"Restore {kind} " + joined(tokens[2:])
        if kind == "DATABASE":
            if tokens[2].token_type != TokenType.IDENTIFIER or words[3:5] != ["FROM", "DISK"]:
                raise ValueError(f"unexpected RESTORE DATABASE: {text!r}")
            return "Restore DATABASE " + joined(tokens[2:])
        raise ValueError(f"unexpected RESTORE: {text!r}")
    return parse_one(text, literals)


def check(document):
    text, needles = document["text"], document["needles"]
    result = {"name": document["name"], "statements": [], "literals": [], "identifiers": [], "outside": [],
              "line_starts_in_literal": 0, "error": None}
    protected = []  # character spans of literal and bracketed-identifier tokens, in the whole text
    offset = 0
    batches = []
    current, current_start = [], 0
    for line in text.split("\n"):
        if line.strip().upper() == "GO":
            batches.append(("\n".join(current), current_start))
            current, current_start = [], offset + len(line) + 1
        else:
            current.append(line)
        offset += len(line) + 1
    batches.append(("\n".join(current), current_start))
    try:
        for batch, start in batches:
            tokens = TSQL().tokenize(batch)
            for token in tokens:
                if token.token_type in LITERAL_TOKENS or token.token_type == TokenType.IDENTIFIER:
                    protected.append((start + token.start, start + token.end + 1))
                if token.token_type == TokenType.IDENTIFIER:
                    result["identifiers"].append(token.text)
            for first, last in split_statements(batch, tokens):
                result["statements"].append(
                    statement_signature(batch[first:last], result["literals"], result["identifiers"]))
            result["statements"].append("GO")
        result["statements"].pop()
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError, IndexError) as error:
        result["error"] = str(error)
        return result
    for needle in needles:
        for match in re.finditer(re.escape(needle), text):
            if not any(low <= match.start() and match.end() <= high for low, high in protected):
                result["outside"].append(needle)
    line_start = 0
    for line in text.split("\n"):
        if any(low < line_start < high for low, high in protected):
            result["line_starts_in_literal"] += 1
        line_start += len(line) + 1
    return result


print(json.dumps([check(document) for document in json.load(sys.stdin)]))
