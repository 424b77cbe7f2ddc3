#!/usr/bin/env python3
"""Fills in the expected results of the feature scripts from SQLite 3.

Each *.test file in this directory is a sqllogictest script whose `statement` and `query`
records are run, in order, against a fresh in-memory SQLite database (python3's sqlite3
module). The script rewrites every record's expectation from what SQLite did:
`statement ok` / `statement error`, and the rows after `----` of each query, formatted as
SQLite's sqllogictest driver does for the declared column types (I: integer, R: `%.3f`,
T: text, NULL as `NULL`, '' as `(empty)`), one row per line.

Usage: python3 generate.py [file.test ...]   (default: every *.test here)
"""
import os
import sqlite3
import sys


def fmt(v, ty):
    if v is None:
        return "NULL"
    if ty == "I":
        try:
            return str(int(v))
        except (TypeError, ValueError):
            return "0"
    if ty == "R":
        try:
            return "%.3f" % float(v)
        except (TypeError, ValueError):
            return "0.000"
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        s = "%.1f" % v
    else:
        s = str(v)
    if s == "":
        return "(empty)"
    return "".join(c if " " <= c <= "~" else "@" for c in s)


def records(lines):
    """Splits a script into blocks separated by blank lines."""
    block = []
    for line in lines:
        if line.strip() == "":
            if block:
                yield block
                block = []
        else:
            block.append(line)
    if block:
        yield block


def regenerate(path):
    with open(path) as f:
        lines = f.read().splitlines()
    db = sqlite3.connect(":memory:", isolation_level=None)
    out = []
    for block in records(lines):
        head = block[0].split()
        if not head or head[0] not in ("statement", "query"):
            out.append("\n".join(block))
            continue
        body = block[1:]
        if "----" in body:
            body = body[: body.index("----")]
        sql = "\n".join(body)
        if head[0] == "statement":
            try:
                db.execute(sql).fetchall()
                out.append("\n".join(["statement ok"] + body))
            except sqlite3.Error:
                out.append("\n".join(["statement error"] + body))
            continue
        types = head[1]
        try:
            rows = db.execute(sql).fetchall()
        except sqlite3.Error:
            out.append("\n".join(["statement error"] + body))
            continue
        res = [" ".join(fmt(v, types[i] if i < len(types) else "T") for i, v in enumerate(r)) for r in rows]
        out.append("\n".join([" ".join(head)] + body + ["----"] + res))
    with open(path, "w") as f:
        f.write("\n\n".join(out) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    files = sys.argv[1:] or sorted(
        os.path.join(here, n) for n in os.listdir(here) if n.endswith(".test")
    )
    for p in files:
        regenerate(p)
        print("regenerated", p)


if __name__ == "__main__":
    main()
