#!/usr/bin/env python3
"""One client provisioning N users, as a SCIM client syncing a directory does: N POSTs one
after another on one keep-alive connection, against one POST /Bulk of the same N creates.
Prints and writes (--out, JSON) the seconds each took, the median of --reps repetitions.

    bulk_vs_posts.py --url http://127.0.0.1:8080/realms/bench/scim/v2 --token T --prefix p \\
        --count 1000 --reps 3 --out target/bench/bulk_vs_posts.json
"""

import argparse
import http.client
import json
import statistics
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def user(name):
    return {"schemas": [USER], "userName": name, "name": {"givenName": "Given " + name, "familyName": "Family"},
            "emails": [{"value": name + "@example.com", "type": "work", "primary": True}], "active": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    headers = {"Authorization": "Bearer " + args.token, "Content-Type": "application/scim+json"}
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def post(path, body):
        conn.request("POST", u.path + path, body=json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status not in (200, 201):
            raise SystemExit(f"POST {path}: {r.status} {data[:300]!r}")
        return data

    posts, bulks = [], []
    for rep in range(args.reps):
        started = time.perf_counter()
        for i in range(args.count):
            post("/Users", user(f"{args.prefix}-p{rep}-{i}"))
        posts.append(time.perf_counter() - started)
        ops = [{"method": "POST", "path": "/Users", "bulkId": f"b{i}", "data": user(f"{args.prefix}-b{rep}-{i}")}
               for i in range(args.count)]
        started = time.perf_counter()
        answer = json.loads(post("/Bulk", {"schemas": [BULK], "Operations": ops}))
        bulks.append(time.perf_counter() - started)
        failed = [o for o in answer.get("Operations", []) if o.get("status") != "201"]
        if failed or len(answer.get("Operations", [])) != args.count:
            raise SystemExit(f"the bulk request did not create every user: {failed[:3]}")
    result = {"count": args.count, "reps": args.reps, "posts_s": statistics.median(posts),
              "bulk_s": statistics.median(bulks), "posts_all_s": posts, "bulk_all_s": bulks}
    result["speedup"] = result["posts_s"] / result["bulk_s"]
    print(f"one client, {args.count} users: {args.count} POSTs in {result['posts_s']:.2f} s, one POST /Bulk in "
          f"{result['bulk_s']:.2f} s ({result['speedup']:.1f}× as fast; median of {args.reps})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
