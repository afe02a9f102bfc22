#!/usr/bin/env python3
"""Verify a Hive receipt chain exported as JSON Lines, without Hive.

Usage: verify_receipts.py [FILE]   (default: stdin)

Each line is one receipt (fields as api.Receipt; hashes are hex). The hash
layout is documented on fsm.Receipt.Canonical: "hive-receipt-v1", then
big-endian u64 seq, u64 index, i64 time, 32-byte prev hash, the strings
workorder, event, from, to (u32 length + UTF-8), u64 attempt, the strings
node, agent, and the 32-byte evidence digest. Exit 0 when every hash and
link verifies, 1 otherwise.
"""
import hashlib
import json
import struct
import sys


def s32(text):
    b = text.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def canonical(r):
    return b"".join([
        b"hive-receipt-v1",
        struct.pack(">QQq", r["seq"], r["index"], r["time_unix_nano"]),
        bytes.fromhex(r["prev_hash"]),
        s32(r["workorder"]), s32(r["event"]), s32(r["from"]), s32(r["to"]),
        struct.pack(">Q", r["attempt"]),
        s32(r["node"]), s32(r["agent"]),
        bytes.fromhex(r["evidence_digest"]),
    ])


def main():
    src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    prev, seq, n = None, None, 0
    for lineno, line in enumerate(src, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            if seq is not None and r["seq"] != seq + 1:
                raise ValueError("expected seq %d, found %d" % (seq + 1, r["seq"]))
            if prev is not None and r["prev_hash"] != prev:
                raise ValueError("prev_hash does not link to the previous receipt")
            if hashlib.sha256(canonical(r)).hexdigest() != r["hash"]:
                raise ValueError("hash does not match the content")
        except (ValueError, KeyError, TypeError, struct.error) as e:
            print("line %d: receipt chain broken: %s" % (lineno, e), file=sys.stderr)
            return 1
        prev, seq, n = r["hash"], r["seq"], n + 1
    print("ok: %d receipts verified, head %s" % (n, prev or "0" * 64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
