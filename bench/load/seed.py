#!/usr/bin/env python3
"""Seeds a SCIM server with users over HTTP for scripts/bench.sh, then checks once that every
request the benchmark makes is answered as expected.

Writes OUT/ids.txt and OUT/names.txt (one id / userName a line), which bench/load/scenario.lua
picks from at random. Standard library only: a few threads, one keep-alive connection each.

    BENCH_TOKEN=... seed.py --url http://127.0.0.1:8080/realms/bench/scim/v2 --count 10000 \\
        --prefix run1 --out DIR
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(name):
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Given " + name, "familyName": "Family"},
        "emails": [{"value": name + "@example.com", "type": "work", "primary": True}],
        "active": True,
    }


class Client:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.base = u.hostname, u.port or 80, u.path.rstrip("/")
        self.headers = {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/scim+json",
            "Accept": "application/scim+json",
        }
        self.conn = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request(method, self.base + path, body=data, headers=self.headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)


def seed(args, token):
    names = [f"{args.prefix}-{i:06d}" for i in range(args.count)]
    ids = [None] * args.count
    failures = []

    def work(k):
        client = Client(args.url, token)
        for i in range(k, args.count, args.threads):
            status, body = client.call("POST", "/Users", user(names[i]))
            if status != 201 or not body or "id" not in body:
                failures.append(f"POST /Users {names[i]}: {status} {body}")
                return
            ids[i] = body["id"]

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit("seeding failed: " + failures[0])
    elapsed = time.monotonic() - started
    print(f"seeded {args.count} users in {elapsed:.1f}s ({args.count / elapsed:.0f}/s)", file=sys.stderr)
    return names, ids


def check(args, token, names, ids):
    """Each benchmark request once: wrong answers would make the numbers meaningless."""
    c = Client(args.url, token)
    quote = urllib.parse.quote

    def expect(what, ok, status, body):
        if not ok:
            sys.exit(f"check failed: {what}: {status} {json.dumps(body)[:500]}")

    status, body = c.call("GET", "/Users/" + ids[0])
    expect("GET /Users/{id}", status == 200 and body.get("id") == ids[0], status, body)
    status, body = c.call("GET", "/Users?filter=" + quote(f'userName eq "{names[-1]}"'))
    expect("filter userName eq", status == 200 and body.get("totalResults") == 1
           and body["Resources"][0].get("id") == ids[-1], status, body)
    status, body = c.call("GET", "/Users?startIndex=1&count=100")
    expect("page of 100", status == 200 and len(body.get("Resources", [])) == min(100, args.count),
           status, body)
    patch = {"schemas": [PATCH_SCHEMA],
             "Operations": [{"op": "replace", "path": "displayName", "value": "checked"}]}
    status, body = c.call("PATCH", "/Users/" + ids[0], patch)
    expect("PATCH /Users/{id}", status == 200 and body.get("displayName") == "checked", status, body)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the SCIM base URL, .../realms/{realm}/scim/v2")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--prefix", required=True, help="userName prefix, unique to this run")
    ap.add_argument("--out", required=True, help="directory for ids.txt and names.txt")
    args = ap.parse_args()
    token = os.environ.get("BENCH_TOKEN") or sys.exit("set BENCH_TOKEN")
    if args.count < 1:
        sys.exit("--count must be at least 1")
    names, ids = seed(args, token)
    check(args, token, names, ids)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ids.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    with open(os.path.join(args.out, "names.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
