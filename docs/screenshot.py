#!/usr/bin/env python3
"""Takes the README's pictures of a running `literacy serve --demo`.

Drives Debian's headless Chromium through chromedriver's W3C WebDriver API
(standard library only): signs in as the demo statistician and saves the
dashboard of round 2026 as docs/dashboard.png. Chinese text needs a CJK
font (Debian: apt-get install fonts-wqy-microhei).

    cargo run --release -- serve --demo          # prints the passwords
    python3 docs/screenshot.py --password <statistician's password>
"""

import argparse
import base64
import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(driver, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(driver + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)["value"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="http://127.0.0.1:8080")
    ap.add_argument("--password", required=True, help="the demo statistician's")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1500)
    args = ap.parse_args()

    port = free_port()
    chromedriver = subprocess.Popen(
        ["chromedriver", f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    driver = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(driver, "GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--window-size={args.width},{args.height}",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": flags}
                }
            }
        }
        session = call(driver, "POST", "/session", caps)["sessionId"]
        s = f"/session/{session}"

        def shot(name):
            png = base64.b64decode(call(driver, "GET", f"{s}/screenshot"))
            (DOCS / name).write_bytes(png)
            print(f"wrote docs/{name} ({len(png)} bytes)")

        def element(css):
            found = call(driver, "POST", f"{s}/element", {"using": "css selector", "value": css})
            return next(iter(found.values()))

        call(driver, "POST", f"{s}/url", {"url": f"{args.base}/login?next=/dashboard/2026"})
        for css, text in [("#username", "statistician"), ("#password", args.password)]:
            call(driver, "POST", f"{s}/element/{element(css)}/value", {"text": text})
        call(driver, "POST", f"{s}/element/{element('form button[type=submit]')}/click", {})
        for _ in range(100):
            if "/dashboard/2026" in call(driver, "GET", f"{s}/url"):
                break
            time.sleep(0.1)
        else:
            raise SystemExit("sign-in did not reach the dashboard (wrong password?)")
        shot("dashboard.png")
        call(driver, "DELETE", s)
    finally:
        chromedriver.terminate()


if __name__ == "__main__":
    main()
