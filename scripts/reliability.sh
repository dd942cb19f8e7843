#!/usr/bin/env bash
# Regenerates RELIABILITY.md: runs the simulation, the attack catalogue, the Rust and JS test
# suites and a fuzz run, and writes their figures into the document. Nothing in RELIABILITY.md's
# figures is typed by hand.
# Usage: scripts/reliability.sh            (fuzz 60 s per target; FUZZ_SECONDS overrides)
#        SKIP_FUZZ=1 scripts/reliability.sh  (reuse target/fuzz-summary.json from the last run)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/reliability
mkdir -p "$out"

echo "==> simulation (linearizable and Workers-KV-like stores)"
cargo test --release --test simulation -- --nocapture --test-threads=1 >"$out/simulation.log" 2>&1
echo "==> attack catalogue"
cargo test --release --test attacks -- --nocapture >"$out/attacks.log" 2>&1
echo "==> every Rust test"
cargo test --release --all-targets >"$out/rust.log" 2>&1
echo "==> JS suites (Node, Deno, workerd) against the built package"
[ -d pkg/node_modules ] || (cd pkg && npm ci --no-audit --no-fund --loglevel=error)
(cd pkg && npm run --silent build)   # never a stale package: quick when nothing changed
(cd pkg && node --test test/node/ >"../$out/node.log" 2>&1)
(cd pkg && node scripts/deno-test.mjs >"../$out/deno.log" 2>&1)
(cd pkg && node --test test/workerd/ >"../$out/workerd.log" 2>&1)
if [ -z "${SKIP_FUZZ:-}" ]; then
  echo "==> fuzzing"
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} scripts/fuzz.sh >"$out/fuzz.log" 2>&1
fi

python3 - "$out" <<'PY'
import json, re, sys, datetime, subprocess, os
out = sys.argv[1]
read = lambda name: open(os.path.join(out, name), encoding="utf-8", errors="replace").read()

sim = read("simulation.log")
m = re.search(r"simulation: (\d+) seeds, (\d+) steps, (\d+) operations, (\d+) store operations, (\d+) faults injected; (\d+) renewed \((\d+) in grace\), (\d+) replays detected, (\d+) rejected, (\d+) errors", sim)
if not m:
    sys.exit("simulation figures not found in the log")
seeds, steps, ops, store_ops, faults, renewed, grace, replays, rejected, errors = m.groups()
kv = re.search(r"workers-kv-like simulation: (\d+) seeds\n((?:  .*\n)+)", sim)
kv_seeds = kv.group(1)
kv_rows = [l.strip().rsplit(": ", 1) for l in kv.group(2).strip().split("\n")]

att = re.search(r"attack catalogue: (\d+) cases \((\d+) named, (\d+) single-bit flips\)", read("attacks.log"))
cases, named, flips = att.groups()

def cargo_totals(text):
    passed = sum(int(x) for x in re.findall(r"test result: ok\. (\d+) passed", text))
    failed = sum(int(x) for x in re.findall(r"(\d+) failed", "\n".join(re.findall(r"test result: .*", text))))
    return passed, failed
rust_pass, rust_fail = cargo_totals(read("rust.log"))

# The conformance suite's size is its case list; the broken stores are the tests of
# tests/store_conformance.rs named `store_…_fails_<case>` that passed in this run.
cases_src = open("src/store/conformance.rs", encoding="utf-8").read()
cases_block = re.search(r"pub const CASES: &\[CaseInfo\] = &\[(.*?)\n\];", cases_src, re.S)
if not cases_block:
    sys.exit("CASES not found in src/store/conformance.rs")
conformance_cases = len(re.findall(r'name: "', cases_block.group(1)))
section = re.search(r"Running tests/store_conformance\.rs[^\n]*\n(.*?)(?:\n\s*Running |\Z)", read("rust.log"), re.S)
if not section:
    sys.exit("tests/store_conformance.rs not found in the Rust log")
broken_stores = len(re.findall(r"^test store_\w+_fails_\w+ \.\.\. ok$", section.group(1), re.M))
def node_totals(text):
    p = re.search(r"# pass (\d+)", text); f = re.search(r"# fail (\d+)", text)
    return int(p.group(1)), int(f.group(1))
node_pass, node_fail = node_totals(read("node.log"))
wd_pass, wd_fail = node_totals(read("workerd.log"))
d = re.search(r"(\d+) passed \| (\d+) failed", re.sub(r"\x1b\[[0-9;]*m", "", read("deno.log")))
deno_pass, deno_fail = int(d.group(1)), int(d.group(2))

fuzz_path = "target/fuzz-summary.json"
fuzz = json.load(open(fuzz_path)) if os.path.exists(fuzz_path) else {}
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
today = datetime.date.today().isoformat()

fuzz_rows = "\n".join(
    f"| `{t}` | {v.get('seconds', '?')} | {v.get('execs', '?'):,} | {v.get('execs_per_sec', '?')} | {v.get('crashes', '?')} |"
    if isinstance(v.get('execs'), int) else f"| `{t}` | {v.get('seconds','?')} | {v.get('execs','?')} | {v.get('execs_per_sec','?')} | {v.get('crashes','?')} |"
    for t, v in sorted(fuzz.items())
) or "| (no fuzz run recorded) | | | | |"
total_execs = sum(v.get("execs", 0) for v in fuzz.values() if isinstance(v.get("execs"), int))
kv_table = "\n".join(f"| {k} | {n} |" for k, n in kv_rows)

template = open("scripts/reliability.md.in", encoding="utf-8").read()
doc = template.format(**locals())
open("RELIABILITY.md", "w", encoding="utf-8").write(doc)
print("wrote RELIABILITY.md")
PY
