#!/usr/bin/env bash
# Seed sweep: run a named scenario (or `kafka-trial test` with extra
# options) for several seeds and tabulate the verdicts, anomaly counts,
# throughput, the ok/fail/info split, and what the faults did: faults with
# an observable effect, leader changes per partition per minute (median),
# ok client ops per second during faults against healthy seconds, fail-over
# time p50/max, and — where a partition had no faulted replica while a
# fault ran — its rate against its healthy rate.
#
#   bash suite/scripts/sweep.sh SCENARIO [SEEDS] [TIME_LIMIT] [STORE] [-- EXTRA OPTIONS]
#   bash suite/scripts/sweep.sh safe "1 2 3" 60s store-sweep
#   bash suite/scripts/sweep.sh safe "1 2 3" 60s store-sweep -- --nodes 5
#   bash suite/scripts/sweep.sh test "1 2 3" 60s store-sweep -- --nodes 5 --nemesis pause,kill
#
# Not part of `cargo test`: 3 seeds × 60 s take about 5 minutes.
set -uo pipefail
scenario=${1:?scenario name, or test}
seeds=${2:-1 2 3 4 5}
limit=${3:-60s}
store=${4:-store-sweep}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
bin=${KAFKA_TRIAL_BIN:-target/release/kafka-trial}
[ -x "$bin" ] || cargo build --release -p kafka-trial
printf '%-20s %4s %4s %-8s %-28s %8s %-16s %-7s %-8s %-17s %-11s %s\n' \
  scenario seed exit verdict anomalies 'sends/s' 'ok/fail/info' 'bitten' 'ldr/p/m' 'ok/s fault:heal' 'failover' 'unfaulted'
for s in $seeds; do
  if [ "$scenario" = test ]; then
    "$bin" --store "$store" test --name sweep --seed "$s" --time-limit "$limit" "${extra[@]}" >"$store.$scenario.$s.log" 2>&1
    code=$?
    run="$store/sweep/latest"
  else
    "$bin" --store "$store" scenario run "$scenario" --seed "$s" --time-limit "$limit" "${extra[@]}" >"$store.$scenario.$s.log" 2>&1
    code=$?
    run="$store/$scenario/latest"
  fi
  python3 - "$scenario" "$s" "$code" "$run" "$store.$scenario.$s.log" <<'PY'
import json, re, statistics, sys
scenario, seed, code, run, log = sys.argv[1:]
try:
    r = json.load(open(f"{run}/results.json"))
except Exception as e:
    print(f"{scenario:<20} {seed:>4} {code:>4} no results ({e})"); sys.exit()
counts = {k: v for k, v in r.get("anomaly_counts", {}).items() if v}
text = open(log, errors="replace").read()
m = re.search(r"ops ok (\d+) / fail (\d+) / info (\d+), ([\d.]+) acknowledged sends/s", text)
rate = m.group(4) if m else "?"
split = f"{m.group(1)}/{m.group(2)}/{m.group(3)}" if m else "?"
an = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"
e = (r.get("checkers") or {}).get("effects") or {}
bitten = f"{e.get('with_effect', '?')}/{e.get('faults', '?')}" if e else "?"
parts = e.get("partitions") or []
ldr = statistics.median([p.get("leader_changes_per_min", 0) for p in parts]) if parts else float("nan")
av = e.get("ok_ops_per_s") or {}
okfh = f"{av.get('during_faults', 0):.0f}:{av.get('healthy', 0):.0f}"
if av.get("ratio") is not None:
    okfh += f" ({100 * av['ratio']:.0f}%)"
fo = e.get("failover_s") or {}
fos = f"{fo.get('p50', 0):.1f}/{fo.get('max', 0):.1f}s" if fo else "-"
unf = [p["other_faults"] / p["healthy"] for p in parts if p.get("other_faults") is not None and p.get("healthy")]
unfs = f"{100 * min(unf):.0f}%..{100 * max(unf):.0f}%" if unf else "-"
print(f"{scenario:<20} {seed:>4} {code:>4} {str(r.get('valid')):<8} {an:<28} {rate:>8} {split:<16} {bitten:<7} {ldr:<8.1f} {okfh:<17} {fos:<11} {unfs}")
PY
done
