#!/usr/bin/env python3
"""The scale scenarios of scripts/bench.sh (BENCH_SCALE=1m): scimd alone, at 10k, 100k and
N users (seeded with `scimd import`), measured against itself at 10k users, since what is
asked is that it stays flat as the realm grows.

    scale.py --bin target/release --users 1000000 --work DIR --out target/bench [--soak 600]

Measures, each printed and written to OUT/scale.md and OUT/scale.json:
  - import time of each data set;
  - p50/p90 of `filter userName eq`, `emails.value eq`, `externalId eq` at N vs 10k users;
  - p50 of a cursor page of 100 (RFC 9865) at the end of N users vs the first page, and the
    same for index pages (startIndex, an OFFSET scan) for contrast;
  - p50 of adding and removing one member of a group of N members;
  - GET of a 100k-member group and of the N-member group (bytes, time) and the RSS each added
    (the peak since start: a later peak below an earlier one shows as 0); RSS after reads at
    10k, 100k and N users;
  - the largest WAL during a write soak of --soak seconds (POSTs from 8 threads);
  - restart with 3 deployed engines: time from exec to the first answer of each realm, with
    the component cache and without it.

Latencies are taken one request at a time on a keep-alive connection (the client's own cost is
in them alike at every size), so they compare sizes, not servers. Standard library only.
"""

import argparse
import glob
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
REALM = "bench"
BASE = f"/realms/{REALM}/scim/v2"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def name(i):
    return f"user{i:07d}"


def user_doc(i):
    n = name(i)
    return {
        "schemas": [USER],
        "userName": n,
        "externalId": f"ext-{i:07d}",
        "name": {"givenName": f"Given {n}", "familyName": "Family"},
        "emails": [{"value": f"{n}@example.com", "type": "work", "primary": True}],
        "active": True,
    }


class Client:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(self, method, path, body=None, raw=None):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                text = r.read()
                return r.status, text
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def json(self, method, path, body=None, expect=(200,)):
        status, text = self.call(method, path, body)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {text[:300]!r}")
        return json.loads(text) if text else None

    def timed(self, method, path, body=None, expect=(200, 204)):
        t = time.perf_counter()
        status, text = self.call(method, path, body)
        ms = (time.perf_counter() - t) * 1000
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {text[:300]!r}")
        return ms, text


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def rss_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


class Server:
    """One scimd on a data directory with the realm, a token, and `users` users imported."""

    def __init__(self, bin_dir, work, label, users):
        self.bin = os.path.join(bin_dir, "scimd")
        self.dir = os.path.join(work, label)
        self.label, self.users, self.proc = label, users, None
        self.log = open(os.path.join(work, f"{label}.log"), "w")
        subprocess.run([self.bin, "realm", "create", REALM, "--data-dir", self.dir], check=True, capture_output=True)
        self.token = subprocess.run(
            [self.bin, "token", "create", "--realm", REALM, "--role", "manage-users", "--data-dir", self.dir],
            check=True, capture_output=True, text=True).stdout.strip()
        path = os.path.join(work, f"{label}.jsonl")
        with open(path, "w") as f:
            for i in range(users):
                f.write(json.dumps(user_doc(i)) + "\n")
        log(f"[{label}] importing {users} users")
        t = time.perf_counter()
        subprocess.run([self.bin, "import", "--realm", REALM, "--data-dir", self.dir, path], check=True,
                       stdout=subprocess.DEVNULL, stderr=self.log)
        self.import_s = time.perf_counter() - t
        os.remove(path)
        log(f"[{label}] imported in {self.import_s:.1f} s")

    def start(self):
        self.port = free_port()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.dir],
            stdout=self.log, stderr=self.log)
        return self

    def wait_ready(self, path="/health", token=None):
        """Seconds from start until `path` answers 200."""
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.005)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.proc = None

    def client(self):
        return Client(self.port, self.token)

    def wal_bytes(self):
        try:
            return os.path.getsize(os.path.join(self.dir, "scimd.db-wal"))
        except OSError:
            return 0


def filters(server, samples):
    c = server.client()
    out = {}
    for label, attr, value in [
        ("userName eq", "userName", name),
        ("emails.value eq", "emails.value", lambda i: f"{name(i)}@example.com"),
        ("externalId eq", "externalId", lambda i: f"ext-{i:07d}"),
    ]:
        times = []
        for _ in range(samples):
            i = random.randrange(server.users)
            q = urllib.parse.quote(f'{attr} eq "{value(i)}"')
            ms, text = c.timed("GET", f"{BASE}/Users?filter={q}")
            if b'"totalResults":1' not in text:
                raise RuntimeError(f"{label} {value(i)}: {text[:200]!r}")
            times.append(ms)
        out[label] = {"p50": pct(times, 0.5), "p90": pct(times, 0.9)}
    return out


def cursor_walk(server, count=100, edge=50):
    """Walks every page by cursor; p50 of the first and the last `edge` pages."""
    c = server.client()
    times, seen, cursor = [], 0, ""
    while True:
        ms, text = c.timed("GET", f"{BASE}/Users?count={count}&cursor={cursor}")
        page = json.loads(text)
        seen += len(page["Resources"])
        times.append(ms)
        cursor = page.get("nextCursor")
        if not cursor:
            break
        if len(times) % 1000 == 0:
            log(f"[{server.label}] cursor page {len(times)}")
    if seen != server.users:
        raise RuntimeError(f"the cursor walk saw {seen} users of {server.users}")
    return {"pages": len(times), "first_p50": statistics.median(times[:edge]),
            "last_p50": statistics.median(times[-edge:])}


def index_pages(server, count=100, samples=30):
    c = server.client()
    first = [c.timed("GET", f"{BASE}/Users?startIndex=1&count={count}")[0] for _ in range(samples)]
    start = server.users - count + 1
    last = [c.timed("GET", f"{BASE}/Users?startIndex={start}&count={count}")[0] for _ in range(samples)]
    return {"first_p50": statistics.median(first), "last_p50": statistics.median(last)}


def ids_of(server, n):
    """The ids of the first n users, by cursor."""
    c, ids, cursor = server.client(), [], ""
    while len(ids) < n:
        page = c.json("GET", f"{BASE}/Users?count=1000&attributes=id&cursor={cursor}")
        ids += [r["id"] for r in page["Resources"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return ids[:n]


def big_group(server, ids, label):
    """A group holding `ids`, built by PATCHes of 1000 members."""
    c = server.client()
    g = c.json("POST", f"{BASE}/Groups", {"schemas": [GROUP], "displayName": label}, expect=(201,))
    t = time.perf_counter()
    for k in range(0, len(ids), 1000):
        ops = [{"op": "add", "path": "members", "value": [{"value": i} for i in ids[k:k + 1000]]}]
        c.json("PATCH", f"{BASE}/Groups/{g['id']}", {"schemas": [PATCH], "Operations": ops}, expect=(200, 204))
        if k and k % 100_000 == 0:
            log(f"[{server.label}] {label}: {k} members")
    return g["id"], time.perf_counter() - t


def member_ops(server, group, outsider, samples=100):
    c = server.client()
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": outsider}]}]}
    rem = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{outsider}"]'}]}
    adds, removes = [], []
    for _ in range(samples):
        adds.append(c.timed("PATCH", f"{BASE}/Groups/{group}", add)[0])
        removes.append(c.timed("PATCH", f"{BASE}/Groups/{group}", rem)[0])
    return {"add_p50": statistics.median(adds), "remove_p50": statistics.median(removes)}


def group_get(server, group):
    before = rss_kib(server.proc.pid)["VmRSS"]
    ms, text = server.client().timed("GET", f"{BASE}/Groups/{group}")
    members = len(json.loads(text)["members"])
    after = rss_kib(server.proc.pid)
    return {"ms": ms, "bytes": len(text), "members": members, "rss_before_kib": before,
            "rss_peak_kib": after["VmHWM"], "rss_after_kib": after["VmRSS"]}


def soak(server, seconds, threads=8):
    """POSTs from `threads` threads for `seconds`; the largest WAL seen, sampled every 0.2 s."""
    stop = time.perf_counter() + seconds
    made = [0] * threads

    def post(t):
        c, n = server.client(), 0
        while time.perf_counter() < stop:
            n += 1
            doc = user_doc(0)
            doc["userName"] = f"soak-{t}-{n}"
            doc["externalId"] = f"soak-{t}-{n}"
            c.json("POST", f"{BASE}/Users", doc, expect=(201,))
            made[t] += 1

    workers = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    peak = 0
    while any(w.is_alive() for w in workers):
        peak = max(peak, server.wal_bytes())
        time.sleep(0.2)
    return {"seconds": seconds, "users_created": sum(made), "wal_peak_bytes": peak,
            "wal_after_bytes": server.wal_bytes()}


def restart_with_engines(server, bin_dir, fixtures):
    """Deploys a component to each of 3 realms, then restarts twice: with the component cache
    and with it emptied; seconds from exec until each realm has answered."""
    env = dict(os.environ, BENCH_ADMIN_PW="bench-admin-password")
    subprocess.run([server.bin, "bootstrap-admin", "--username", "admin", "--password-env", "BENCH_ADMIN_PW",
                    "--data-dir", server.dir], check=True, capture_output=True, env=env)
    realms = []
    for k in range(3):
        r = f"engine{k}"
        subprocess.run([server.bin, "realm", "create", r, "--data-dir", server.dir], check=True, capture_output=True)
        tok = subprocess.run([server.bin, "token", "create", "--realm", r, "--role", "manage-users",
                              "--data-dir", server.dir], check=True, capture_output=True, text=True).stdout.strip()
        realms.append((r, tok))
    server.start()
    server.wait_ready()
    form = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                                   "password": "bench-admin-password"})
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    c.request("POST", "/realms/master/protocol/openid-connect/token", body=form,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    admin = json.loads(c.getresponse().read())["access_token"]
    for (r, _), wasm in zip(realms, fixtures):
        with open(wasm, "rb") as f:
            c.request("PUT", f"/admin/realms/{r}/scim/component", body=f.read(),
                      headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/wasm"})
        resp = c.getresponse()
        body = resp.read()
        if resp.status != 201:
            raise RuntimeError(f"deploying {wasm}: {resp.status} {body[:300]!r}")
    server.stop()
    out = {}
    for label in ["cached", "uncached"]:
        if label == "uncached":
            for p in glob.glob(os.path.join(server.dir, "component-cache", "*")):
                os.remove(p)
        server.start()
        firsts = [server.wait_ready(f"/realms/{r}/scim/v2/Users?count=1", tok) for r, tok in realms]
        out[label] = {"first_realm_s": firsts[0], "all_three_s": max(firsts)}
        server.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--soak", type=int, default=600)
    ap.add_argument("--fixtures", nargs=3, required=True, help="three engine components to deploy")
    a = ap.parse_args()
    random.seed(7)
    res = {"users": a.users}

    small = Server(a.bin, a.work, "10k", 10_000)
    mid = Server(a.bin, a.work, "100k", 100_000)
    big = Server(a.bin, a.work, "big", a.users)
    res["import_s"] = {"10k": small.import_s, "100k": mid.import_s, "big": big.import_s}

    small.start().wait_ready()
    res["filters_10k"] = filters(small, 300)
    res["rss_10k_kib"] = rss_kib(small.proc.pid)
    small.stop()

    mid.start().wait_ready()
    log("[100k] group of 100k")
    ids = ids_of(mid, 100_000)
    g100k, res["group_100k_build_s"] = big_group(mid, ids, "all-100k")
    filters(mid, 100)
    res["group_100k_get"] = group_get(mid, g100k)
    res["rss_100k_after_reads_kib"] = rss_kib(mid.proc.pid)
    mid.stop()

    big.start().wait_ready()
    res["filters_big"] = filters(big, 300)
    res["index_pages_big"] = index_pages(big)
    log("[big] cursor walk")
    res["cursor_big"] = cursor_walk(big)
    log(f"[big] group of {a.users}")
    ids = ids_of(big, a.users)
    gbig, res["group_big_build_s"] = big_group(big, ids[:-1], "all")
    res["group_big_members"] = member_ops(big, gbig, ids[-1])
    log(f"[big] GET of the {a.users}-member group")
    res["group_big_get"] = group_get(big, gbig)
    res["rss_big_after_reads_kib"] = rss_kib(big.proc.pid)
    log(f"[big] write soak {a.soak} s")
    res["soak"] = soak(big, a.soak)
    big.stop()

    log("[10k] restart with 3 deployed engines")
    res["restart"] = restart_with_engines(small, a.bin, a.fixtures)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "scale.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = report(res)
    with open(os.path.join(a.out, "scale.md"), "w") as f:
        f.write(md)
    print(md)


def report(r):
    n = f"{r['users'] // 1000}k" if r["users"] < 1_000_000 else f"{r['users'] / 1e6:g}M"
    rows = [f"| scenario | at {n} | at 10k (or first) | ratio | target |", "|---|---|---|---|---|"]
    for label in ["userName eq", "emails.value eq", "externalId eq"]:
        big, small = r["filters_big"][label]["p50"], r["filters_10k"][label]["p50"]
        rows.append(f"| filter `{label}` p50 | {big:.2f} ms | {small:.2f} ms | {big / small:.2f} | ≤ 2 |")
    cb = r["cursor_big"]
    rows.append(f"| cursor page of 100, last vs first p50 ({cb['pages']} pages walked) | {cb['last_p50']:.2f} ms "
                f"| {cb['first_p50']:.2f} ms | {cb['last_p50'] / cb['first_p50']:.2f} | ≤ 2 |")
    ib = r["index_pages_big"]
    rows.append(f"| index page of 100 (startIndex), last vs first p50 | {ib['last_p50']:.2f} ms "
                f"| {ib['first_p50']:.2f} ms | {ib['last_p50'] / ib['first_p50']:.2f} | (contrast) |")
    gm = r["group_big_members"]
    rows.append(f"| add one member to a {n}-member group, p50 | {gm['add_p50']:.2f} ms | | | ≤ 2 ms |")
    rows.append(f"| remove one member of a {n}-member group, p50 | {gm['remove_p50']:.2f} ms | | | ≤ 2 ms |")
    for label, g, target in [("a 100k-member group", r["group_100k_get"], "≤ 64 MiB"),
                             (f"the {n}-member group", r["group_big_get"], "answers")]:
        added = (g["rss_peak_kib"] - g["rss_before_kib"]) / 1024
        rows.append(f"| GET of {label} | {g['ms']:.0f} ms, {g['bytes'] / 1e6:.1f} MB, "
                    f"{g['members']} members | | peak RSS added {added:.1f} MiB | {target} |")
    rows.append(f"| RSS after 100k users and the 100k group, after reads | "
                f"{r['rss_100k_after_reads_kib']['VmRSS'] / 1024:.1f} MiB | | | ≤ 64 MiB |")
    rows.append(f"| RSS after reads at {n} / at 10k | {r['rss_big_after_reads_kib']['VmRSS'] / 1024:.1f} MiB "
                f"| {r['rss_10k_kib']['VmRSS'] / 1024:.1f} MiB | | |")
    s = r["soak"]
    rows.append(f"| WAL peak during a {s['seconds']} s write soak ({s['users_created']} users created) | "
                f"{s['wal_peak_bytes'] / 2**20:.1f} MiB | | | ≤ 64 MiB |")
    rs = r["restart"]
    rows.append(f"| restart with 3 deployed engines: first request / all three | "
                f"{rs['cached']['first_realm_s']:.2f} s / {rs['cached']['all_three_s']:.2f} s | "
                f"without the cache: {rs['uncached']['first_realm_s']:.2f} s / {rs['uncached']['all_three_s']:.2f} s "
                f"| | ≤ 1 s |")
    imp = r["import_s"]
    rows.append(f"| `scimd import` of {n} / 100k / 10k users | {imp['big']:.1f} s | {imp['100k']:.1f} s / "
                f"{imp['10k']:.1f} s | | minutes |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
