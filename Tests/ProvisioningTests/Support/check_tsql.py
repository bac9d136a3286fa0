#!/usr/bin/env python3
"""Parses T-SQL from stdin with sqlglot (read="tsql") and prints what it found as JSON.

Used by TemplateTests.swift to check that a rendered template parses into exactly the intended
statements and that each interpolated value is a literal whose value is the original text.

Output: {"statements": [{"type": "Select", "columns": [{"alias": "x", "value": "..."}]},
                        {"type": "Update", "table": "t", "set": [{"column": "Name", "value": "..."}]}]}
or {"error": "..."} when the text does not parse (exit status 1), or {"missing": "..."} when
sqlglot is not installed (exit status 3). "value" is null when the expression is not a string
literal (N'...', NCHAR(n), or those joined with +, in parentheses).
"""
import json
import sys

try:
    import sqlglot
    from sqlglot import exp
except ImportError as error:
    print(json.dumps({"missing": f"{error}; run `bash .ci/setup`"}))
    sys.exit(3)


def literal_value(node):
    """The text a string-literal expression evaluates to, or None if it is anything else."""
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, (exp.National, exp.Literal)) and (isinstance(node, exp.National) or node.is_string):
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


def describe(statement):
    if isinstance(statement, exp.Select):
        columns = []
        for column in statement.expressions:
            alias = column.alias if isinstance(column, exp.Alias) else None
            target = column.this if isinstance(column, exp.Alias) else column
            columns.append({"alias": alias, "value": literal_value(target)})
        return {"type": "Select", "columns": columns}
    if isinstance(statement, exp.Update):
        assignments = []
        for assignment in statement.expressions:
            assignments.append({"column": assignment.this.name, "value": literal_value(assignment.expression)})
        return {"type": "Update", "table": statement.this.name, "set": assignments}
    return {"type": type(statement).__name__, "sql": statement.sql(dialect="tsql")}


def main():
    text = sys.stdin.read()
    try:
        statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]
    except sqlglot.errors.ParseError as error:
        print(json.dumps({"error": str(error)}))
        sys.exit(1)
    print(json.dumps({"statements": [describe(s) for s in statements]}))


main()
