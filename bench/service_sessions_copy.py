#!/usr/bin/env python3
"""Starts respondent sessions for bench/service_load.sh straight in the
database (SESSIONS=copy): one COPY (PostgreSQL, through psql) or one
transaction (SQLite) instead of one API request each, and signs each
session's respondent token with the service's secret, as the service does
(HS256; claims sub, role, sid, iss, aud, iat, nbf, exp). Tens of thousands of
sessions take seconds instead of a minute, so quick runs can be repeated.

Writes "<session_id> <token>" lines, the format of service_sessions.lua.

    service_sessions_copy.py COUNT DATABASE_URL ROUND_CODE OUT_FILE

The secret comes from LITERACY_JWT_SECRET. Standard library only (and psql
for PostgreSQL).
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token(secret: bytes, session_id: str, now: int) -> str:
    header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = {
        "sub": session_id,
        "role": "respondent",
        "sid": session_id,
        "iss": "literacy",
        "aud": "literacy-respondent",
        "iat": now,
        "nbf": now,
        "exp": now + 2 * 3600,
    }
    payload = header + b"." + b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = b64(hmac.new(secret, payload, hashlib.sha256).digest())
    return (payload + b"." + signature).decode()


def main() -> None:
    count, url, round_code, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    secret = os.environ["LITERACY_JWT_SECRET"].encode()
    now = int(time.time())
    ms = now * 1000
    sessions = [(secrets.token_hex(16), "w-" + secrets.token_hex(8)) for _ in range(count)]
    columns = "id, round_id, respondent_id, answers, paradata, revision, created_at, updated_at"
    if url.startswith("sqlite://"):
        db = sqlite3.connect(url[len("sqlite://"):], timeout=60)
        with db:
            (round_id,) = db.execute("SELECT id FROM rounds WHERE code = ?", (round_code,)).fetchone()
            db.executemany(
                f"INSERT INTO respondent_sessions ({columns}) VALUES (?, ?, ?, '{{}}', '{{}}', 0, ?, ?)",
                [(sid, round_id, rid, ms, ms) for sid, rid in sessions],
            )
        db.close()
    else:
        round_id = subprocess.run(
            ["psql", url, "-Atc", f"SELECT id FROM rounds WHERE code = '{round_code}'"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        rows = "".join(f"{sid}\t{round_id}\t{rid}\t{{}}\t{{}}\t0\t{ms}\t{ms}\n" for sid, rid in sessions)
        subprocess.run(
            ["psql", url, "-qc", f"COPY respondent_sessions ({columns}) FROM STDIN"],
            input=rows, check=True, text=True,
        )
    with open(out, "w") as f:
        f.writelines(f"{sid} {token(secret, sid, now)}\n" for sid, _ in sessions)


if __name__ == "__main__":
    main()
