#!/usr/bin/env bash
# Seed sweep: run a named scenario for several seeds and tabulate the
# verdicts, anomaly counts, throughput and ok/fail/info split.
#
#   bash suite/scripts/sweep.sh SCENARIO [SEEDS] [TIME_LIMIT] [STORE]
#   bash suite/scripts/sweep.sh safe "1 2 3 4 5" 60s store-sweep
#
# Not part of `cargo test`: 5 seeds × 60 s take about 8 minutes.
set -uo pipefail
scenario=${1:?scenario name}
seeds=${2:-1 2 3 4 5}
limit=${3:-60s}
store=${4:-store-sweep}
bin=${KAFKA_TRIAL_BIN:-target/release/kafka-trial}
[ -x "$bin" ] || cargo build --release -p kafka-trial
printf '%-20s %4s %6s %-8s %-45s %8s %s\n' scenario seed exit verdict anomalies 'sends/s' 'ok/fail/info'
for s in $seeds; do
  "$bin" --store "$store" scenario run "$scenario" --seed "$s" --time-limit "$limit" >"$store.$scenario.$s.log" 2>&1
  code=$?
  run="$store/$scenario/latest"
  python3 - "$scenario" "$s" "$code" "$run" "$store.$scenario.$s.log" <<'PY'
import json, re, sys
scenario, seed, code, run, log = sys.argv[1:]
try:
    r = json.load(open(f"{run}/results.json"))
except Exception as e:
    print(f"{scenario:<20} {seed:>4} {code:>6} no results ({e})"); sys.exit()
counts = {k: v for k, v in r.get("anomaly_counts", {}).items() if v}
text = open(log, errors="replace").read()
m = re.search(r"ops ok (\d+) / fail (\d+) / info (\d+), ([\d.]+) acknowledged sends/s", text)
rate = m.group(4) if m else "?"
split = f"{m.group(1)}/{m.group(2)}/{m.group(3)}" if m else "?"
an = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
print(f"{scenario:<20} {seed:>4} {code:>6} {str(r.get('valid')):<8} {an:<45} {rate:>8} {split}")
PY
done
