#!/usr/bin/env python3
"""Writes bench/run.sh's report (Markdown on stdout) from the raw files of one run.

usage: bench/report.py RAW_DIR   (bench/run.sh keeps its raw files in target/bench-raw)

Every goal is a ratio measured in this one run (medians of paired per-round ratios where there
are rounds), printed next to its goal with "met" or "NOT met". Raw rows follow the table.
"""
import os
import re
import statistics as st
import subprocess
import sys

work = sys.argv[1]


def lines(name):
    path = os.path.join(work, name)
    return open(path).read().splitlines() if os.path.exists(path) else []


RAW = re.compile(r"r(\d+) (\S+)/(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+err=(\d+)"
                 r"(?:\s+cpu=(\d+)%\s+rps_per_core=(\d+))?")


def side_rows(*names):
    rows = {}
    for name in names:
        for line in lines(name):
            m = RAW.match(line)
            if not m:
                continue
            r, label, ep, rps, p50, p99, err, cpu, rpc = m.groups()
            rows.setdefault((label, ep), {})[int(r)] = dict(
                rps=float(rps), p50=float(p50), p99=float(p99), err=int(err),
                rpc=float(rpc) if rpc else None)
    return rows


def paired(rows, a, b, ep, key="rps"):
    """Median (min, max) of a/b per round, rounds where both ran without errors."""
    xs, ys = rows.get((a, ep), {}), rows.get((b, ep), {})
    ratios = [xs[r][key] / ys[r][key] for r in xs
              if r in ys and ys[r][key] and xs[r]["err"] == 0 and ys[r]["err"] == 0]
    return (st.median(ratios), min(ratios), max(ratios)) if ratios else None


def med(rows, label, ep, key="rps"):
    vals = [v[key] for v in rows.get((label, ep), {}).values() if v[key] is not None]
    return st.median(vals) if vals else None


goals = []  # (goal name, measured text, goal text, met: bool|None)


def ratio_goal(name, value, threshold, unit="x", higher=True):
    if value is None:
        goals.append((name, "not measured", f"≥ {threshold}{unit}", None))
        return
    mid, lo, hi = value
    text = (f"{mid * 100:.0f} % ({lo * 100:.0f}..{hi * 100:.0f})" if unit == "%"
            else f"{mid:.2f}x ({lo:.2f}..{hi:.2f})")
    goal = f"≥ {threshold * 100:.0f} %" if unit == "%" else f"≥ {threshold}x"
    goals.append((name, text, goal, mid >= threshold if higher else mid <= threshold))


side = side_rows("side.txt", "side-rs-es256.txt")
ratio_goal("discovery vs the bare axum ceiling", paired(side, "rust", "ceiling", "discovery"), 0.85, "%")
ratio_goal("JWKS vs the ceiling", paired(side, "rust", "ceiling", "jwks"), 0.85, "%")
ratio_goal("client_credentials ES256 vs node-oidc-provider",
           paired(side, "rust", "node", "token_es256"), 8)
ratio_goal("client_credentials ES256 vs the ceiling",
           paired(side, "rust", "ceiling", "token_es256"), 0.80, "%")
ratio_goal("client_credentials RS256 vs the ceiling (hold ≥ 90 %)",
           paired(side, "rust", "ceiling", "token_rs256"), 0.90, "%")

# RS256 minting per core against the raw aws-lc-rs signature per core (key parsed once).
raw_sign = None
for line in lines("raw.md"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 2 and "RS256" in cells[0] and "sign" in cells[0] and "aws-lc-rs" in cells[0] \
            and "jsonwebtoken" not in cells[0]:
        try:
            raw_sign = float(cells[1].replace(",", ""))
            raw_case = cells[0]
        except ValueError:
            pass
        break
rpc = med(side, "rust", "token_rs256", "rpc")
if raw_sign and rpc:
    share = rpc / raw_sign
    goals.append(("RS256 minting per core vs raw signing per core",
                  f"{share * 100:.0f} % ({rpc:.0f} tokens per core-second / {raw_sign:.0f} signatures)",
                  "≥ 85 %", share >= 0.85))
else:
    goals.append(("RS256 minting per core vs raw signing per core", "not measured", "≥ 85 %", None))
ratio_goal("resource server /api/me RS256 vs the ceiling", paired(side, "rust", "ceiling", "rs_rs256"), 0.90, "%")
ratio_goal("resource server /api/me ES256 vs the ceiling", paired(side, "rust", "ceiling", "rs_es256"), 0.90, "%")

# Code flow vs client_credentials RS256, back to back per round.
cc, flows = [], []
for line in lines("flow.txt"):
    parts = line.split()
    if parts[0] == "cc":
        cc.append((float(parts[1]), int(parts[4])))
    elif parts[0] == "flow":
        flows.append((float(parts[1]), float(parts[2]), float(parts[3]), int(parts[4])))
flow_ratios = [f[0] / c[0] for c, f in zip(cc, flows) if c[0] and c[1] == 0 and f[3] == 0]
ratio_goal("code flow (authorize + code exchange) vs client_credentials RS256",
           (st.median(flow_ratios), min(flow_ratios), max(flow_ratios)) if flow_ratios else None, 0.45)

# Login flood: quiet and flooded, alternating per round.
flood = side_rows("flood.txt")
storm = [line.split() for line in lines("flood.txt") if " storm " in line]
quiet_p99 = med(flood, "quiet", "jwks", "p99")
flood_p99 = med(flood, "flood", "jwks", "p99")
if quiet_p99 is not None and flood_p99 is not None:
    bound = 2 * quiet_p99 + 2
    goals.append(("/jwks p99 during a login flood",
                  f"{flood_p99:.2f} ms (quiet {quiet_p99:.2f} ms)",
                  f"≤ 2 × quiet + 2 ms = {bound:.2f} ms", flood_p99 <= bound))
else:
    goals.append(("/jwks p99 during a login flood", "not measured", "≤ 2 × quiet + 2 ms", None))
ratio_goal("client_credentials ES256 during a login flood vs quiet",
           paired(flood, "flood", "quiet", "token_es256"), 0.50, "%")

# Memory.
memory = {}
for line in lines("memory.txt"):
    name, rss, hwm = line.split()
    memory[name] = (int(rss), int(hwm))
if "provider" in memory:
    rss_mb = memory["provider"][0] / 1024
    goals.append(("provider RSS after the run (dev mode)", f"{rss_mb:.1f} MB", "≤ 25 MB", rss_mb <= 25))

# Scaling.
scaling = {}
purges = {}
for line in lines("scaling.txt"):
    parts = line.split()
    if parts[0] == "purge":
        purges.setdefault(parts[1], []).append(" ".join(parts[2:]))
    elif len(parts) == 5:
        scaling[parts[0]] = dict(rps=float(parts[1]), p50=float(parts[2]), p99=float(parts[3]),
                                 err=int(parts[4]))
for backend in ("sqlite", "postgres"):
    empty, seeded = scaling.get(f"{backend}-empty"), scaling.get(f"{backend}-seeded")
    if empty and seeded and empty["err"] == 0 and seeded["err"] == 0 and empty["p99"]:
        share = seeded["p99"] / empty["p99"]
        goals.append((f"refresh grant p99, seeded vs empty store ({backend})",
                      f"{share:.2f}x ({seeded['p99']:.1f} vs {empty['p99']:.1f} ms)", "≤ 1.2x",
                      share <= 1.2))
    elif empty or seeded:
        goals.append((f"refresh grant p99, seeded vs empty store ({backend})", "errors: see rows",
                      "≤ 1.2x", False))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


date = sh("date -u +%Y-%m-%dT%H:%M:%SZ")
commit = sh("git rev-parse --short HEAD")
dirty = " (with uncommitted changes)" if sh("git status --porcelain --untracked-files=no") else ""
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
load = sh("cut -d' ' -f1-3 /proc/loadavg")
print("# Benchmark report")
print()
print(f"- {date}, commit {commit}{dirty}, written by `bench/run.sh`")
print(f"- machine: {sh('nproc')} cores, {cpu}; load average at the end {load}")
print("- load generators (wrk, node) run on the same cores as the servers; ratios are paired per "
      "round in this one run. Shared, noisy machine: compare ratios, not absolute numbers.")
print()
print("| goal | measured | target | |")
print("|---|---|---|---|")
for name, measured, target, met in goals:
    verdict = "met" if met else ("not measured" if met is None else "**NOT met**")
    print(f"| {name} | {measured} | {target} | {verdict} |")
print()
print("## Side by side (medians over rounds)")
print()
print("| endpoint | target | req/s | p50 ms | p99 ms | req/s per core |")
print("|---|---|---:|---:|---:|---:|")
for (label, ep) in sorted(side, key=lambda k: (k[1], k[0])):
    rps, p50, p99 = med(side, label, ep), med(side, label, ep, "p50"), med(side, label, ep, "p99")
    rpc_v = med(side, label, ep, "rpc")
    print(f"| {ep} | {label} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rpc_v:.0f} |" if rpc_v
          else f"| {ep} | {label} | {rps:.0f} | {p50:.2f} | {p99:.2f} | |")
if raw_sign:
    print()
    print(f"Raw signing ({raw_case}): {raw_sign:.0f} per second on one core.")
print()
print("## Code flow and client_credentials RS256 (per round)")
print()
for (c, f) in zip(cc, flows):
    print(f"- client_credentials {c[0]:.0f} req/s (err {c[1]}); code flows {f[0]:.0f}/s "
          f"p50 {f[1]} ms p99 {f[2]} ms (err {f[3]})")
print()
print("## Login flood")
print()
print("| round | /jwks quiet req/s, p99 | /jwks flooded req/s, p99 | ES256 quiet | ES256 flooded | flood |")
print("|---|---|---|---|---|---|")
for r in sorted({r for v in flood.values() for r in v}):
    def cell(label, ep):
        v = flood.get((label, ep), {}).get(r)
        return f"{v['rps']:.0f}, {v['p99']:.2f} ms" if v else "-"
    storm_row = next((s for s in storm if s[0] == f"r{r}"), None)
    storm_text = (f"{float(storm_row[2]):.1f} logins/s, p99 {float(storm_row[4]):.0f} ms, "
                  f"{storm_row[6].split('=')[1]} bcrypt checks") if storm_row else "-"
    print(f"| {r} | {cell('quiet', 'jwks')} | {cell('flood', 'jwks')} | {cell('quiet', 'token_es256')} "
          f"| {cell('flood', 'token_es256')} | {storm_text} |")
print()
print("## Memory after the run (RSS, peak)")
print()
for name, (rss, hwm) in memory.items():
    print(f"- {name}: {rss / 1024:.1f} MB" + (f" (peak {hwm / 1024:.1f} MB)" if hwm else ""))
if scaling or lines("seed.txt"):
    print()
    print("## Refresh grant against data size")
    print()
    for line in lines("seed.txt"):
        print(f"- {line.lstrip('# ')}")
    for label, row in scaling.items():
        print(f"- {label}: {row['rps']:.0f} refreshes/s, p50 {row['p50']} ms, p99 {row['p99']} ms, "
              f"errors {row['err']}; " + "; ".join(purges.get(label, [])))
