#!/usr/bin/env python3
"""Nested groups against one scimd realm: how a user's groups (direct and indirect) and a
`groups.value eq` filter cost in a deep tree and in a wide one, against the same reads for a
user in one flat group. Builds its trees through POST /Bulk, then times --reps requests of
each read on one keep-alive connection and prints (and writes, --out) the median milliseconds.

    nested.py --url http://127.0.0.1:8080/realms/bench/scim/v2 --token T --prefix p \\
        --depth 32 --width 1000 --reps 200 --out target/bench/nested.json

Deep: a chain of --depth groups, each inside the next, with one user in the innermost: its GET
lists --depth groups. Wide: one group holding --width groups of 10 users each: a filter for
the top group's users walks --width groups and finds 10 × --width users (a page of 100 of them
is read). Flat: a user in one group, the filter for that group's 10 users.
"""

import argparse
import http.client
import json
import statistics
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


class Scim:
    def __init__(self, url, token):
        self.u = urllib.parse.urlparse(url)
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
        self.conn = http.client.HTTPConnection(self.u.hostname, self.u.port, timeout=300)

    def send(self, method, path, body=None):
        self.conn.request(method, self.u.path + path, body=None if body is None else json.dumps(body),
                          headers=self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def bulk(self, ops):
        """Runs operations in bulks of 1000 (references stay within one); the ids created, by bulkId."""
        ids = {}
        for i in range(0, len(ops), 1000):
            answer = self.send("POST", "/Bulk", {"schemas": [BULK], "Operations": ops[i:i + 1000]})
            for o in answer["Operations"]:
                if o["status"] != "201":
                    raise SystemExit(f"bulk operation failed: {o}")
                ids[o["bulkId"]] = o["location"].rsplit("/", 1)[-1]
        return ids

    def timed(self, path, reps):
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            self.send("GET", path)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def user(bulk_id, name):
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"schemas": [USER], "userName": name}}


def group(bulk_id, name, members):
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id,
            "data": {"schemas": [GROUP], "displayName": name, "members": [{"value": "bulkId:" + m} for m in members]}}


def q(filter_):
    return urllib.parse.quote(filter_)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--out")
    a = ap.parse_args()
    s = Scim(a.url, a.token)
    p = a.prefix

    # Flat: one user in one group of 10.
    ops = [user(f"f{i}", f"{p}-flat-{i}") for i in range(10)] + [group("fg", f"{p}-flat", [f"f{i}" for i in range(10)])]
    flat = s.bulk(ops)
    # Deep: u in d0, d0 in d1, …, d(depth-1) outermost.
    ops = [user("du", f"{p}-deep-user")] + [group(f"d{i}", f"{p}-deep-{i}", ["du" if i == 0 else f"d{i - 1}"])
                                           for i in range(a.depth)]
    deep = s.bulk(ops)
    # Wide: top holds width groups of 10 users each.
    ids = {}
    for first in range(0, a.width, 90):
        ops = []
        for g in range(first, min(first + 90, a.width)):
            ops += [user(f"w{g}-{i}", f"{p}-wide-{g}-{i}") for i in range(10)]
            ops.append(group(f"w{g}", f"{p}-wide-{g}", [f"w{g}-{i}" for i in range(10)]))
        ids.update(s.bulk(ops))
    members = [{"value": ids[f"w{g}"]} for g in range(a.width)]
    top = s.send("POST", "/Groups", {"schemas": [GROUP], "displayName": f"{p}-wide-top", "members": members})["id"]

    in_group = lambda gid: q(f'groups.value eq "{gid}"')
    outermost = deep[f"d{a.depth - 1}"]
    result = {"depth": a.depth, "width": a.width, "reps": a.reps, "median_ms": {
        "flat_user_get": s.timed(f"/Users/{flat['f0']}", a.reps),
        "deep_user_get": s.timed(f"/Users/{deep['du']}", a.reps),
        "flat_filter": s.timed(f"/Users?count=100&filter={in_group(flat['fg'])}", a.reps),
        "deep_filter": s.timed(f"/Users?count=100&filter={in_group(outermost)}", a.reps),
        "wide_filter_page_of_100": s.timed(f"/Users?count=100&filter={in_group(top)}", a.reps),
    }}
    check = s.send("GET", f"/Users/{deep['du']}")
    assert len(check["groups"]) == a.depth, f"the deep user lists {len(check['groups'])} groups"
    wide = s.send("GET", f"/Users?count=1&filter={in_group(top)}")
    assert wide["totalResults"] == 10 * a.width, f"the wide filter found {wide['totalResults']}"
    m = result["median_ms"]
    print(f"nested groups (median of {a.reps}, ms): GET user in 1 group {m['flat_user_get']:.2f}, "
          f"in {a.depth} (deep) {m['deep_user_get']:.2f}; groups.value eq: flat group {m['flat_filter']:.2f}, "
          f"outermost of {a.depth} {m['deep_filter']:.2f}, top of {a.width} groups "
          f"({10 * a.width} users, page of 100) {m['wide_filter_page_of_100']:.2f}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
