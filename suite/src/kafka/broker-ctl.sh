#!/bin/bash
# kafka-trial: control of the node's JVM: the Kafka broker (or KRaft
# controller), or on a ZooKeeper node (one with /opt/kt/zoo.cfg) the
# ZooKeeper server, from the same Kafka jars.
set -u
PIDFILE=/run/kt-broker.pid
CONF=/opt/kt/server.properties
ZOOCFG=/opt/kt/zoo.cfg
zookeeper_node() { [ -f "$ZOOCFG" ]; }
LOGS=/var/log/kafka
pid() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }
# The JVM's state letter (R, S, D, T, t, Z, X, …), read from one read of
# its status file: a killed JVM is a zombie until tini reaps it, and a
# status file that vanishes between a test and a grep read as "alive".
# Fails when there is no such process.
pstate() {
  local p st; p=$(pid) || return 1
  st=$(cat "/proc/$p/status" 2>/dev/null) || return 1
  st=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' <<<"$st")
  [ -n "$st" ] || return 1
  echo "$st"
}
alive() {
  local st; st=$(pstate) || return 1
  [[ $st != [ZX] ]]
}
# The JVM is gone from the kernel, not just signalled: its pid reaped. A
# SIGKILLed JVM's leader reads as a zombie while its other threads still
# exit, holding its open files and mapped index files on the data folder
# (an unmount then fails "busy"); only once the whole thread group has
# exited does tini reap the leader and the pid vanish.
gone() {
  local p; p=$(pid) || return 0
  [ ! -e "/proc/$p" ]
}
# Who holds a file or a mapping under $DATA (for an error message).
holders() {
  local d p c
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    if ls -l "$d/fd" 2>/dev/null | grep -q -- "-> $DATA/" || grep -q " $DATA/" "$d/maps" 2>/dev/null || [ "$(readlink "$d/cwd" 2>/dev/null)" = "$DATA" ]; then
      c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-60)
      echo -n "$p ($(sed -n 's/^State:[[:space:]]*//p' "$d/status" 2>/dev/null) ${c:-?}); "
    fi
  done
}
# The run's fault environment (e.g. libfaketime's for the clock fault,
# KT_LAZYFS=1 for the filesystem faults), written by the suite.
load_env() {
  if [ -f /opt/kt/broker.env ]; then set -a; . /opt/kt/broker.env; set +a; fi
}
# The filesystem faults: log.dirs on kt-lazyfs, which remembers what was
# fsynced and can drop the rest (a power loss of this node's disk).
LAZYFS=/opt/kt/bin/kt-lazyfs
BACKING=/var/lib/kafka/backing
DATA=/var/lib/kafka/data
LZSTATE=/run/kt-lazyfs
# The filesystem's own processes never run under the faults' preloads
# (libfaketime): the daemon serves every read and write of the broker.
lazyfs() { env -u LD_PRELOAD "$LAZYFS" "$@"; }
# Whether something is mounted on the data folder (mountinfo's field 5 is
# the mount point): only this script mounts there, and a mount whose
# daemon died is still one (start then fails loudly rather than hiding it).
mounted() { awk -v m="$DATA" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
mount_fs() {
  [ "${KT_LAZYFS:-0}" = 1 ] || return 0
  zookeeper_node && return 0
  mounted && return 0
  [ -x "$LAZYFS" ] || { echo "KT_LAZYFS=1 but $LAZYFS is missing" >&2; return 1; }
  mkdir -p "$LOGS" "$BACKING" "$DATA" "$LZSTATE"
  # A data folder written before the mount (not on the filesystem) would
  # be hidden by it: refuse rather than lose it silently.
  if [ -n "$(ls -A "$DATA" 2>/dev/null)" ]; then
    echo "$DATA is not empty and not mounted: refusing to mount kt-lazyfs over it" >&2; return 1
  fi
  echo "[$(date -u '+%F %T')] kafka-trial: mounting kt-lazyfs" >>"$LOGS/lazyfs.out"
  setsid env -u LD_PRELOAD "$LAZYFS" mount --backing "$BACKING" --mountpoint "$DATA" --state "$LZSTATE" \
    >>"$LOGS/lazyfs.out" 2>&1 </dev/null &
  lazyfs wait-mounted --mountpoint "$DATA" || { tail -n 20 "$LOGS/lazyfs.out" >&2; return 1; }
}
# -XX:-UsePerfData: no /tmp/hsperfdata_<user>/<pid> left behind by a
# killed JVM (a host over SSH must be left as it was found).
java_opts() {
  local heap=$KT_HEAP_MB
  zookeeper_node && heap=$(( heap < 256 ? heap : 256 ))
  echo "-Xms${heap}m -Xmx${heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.awt.headless=true -Dkafka.logs.dir=$LOGS -Dlog4j2.configurationFile=/opt/kt/log4j2.properties"
}
case "${1:-}" in
  format)
    mkdir -p "$LOGS"
    # ZooKeeper nodes and ZooKeeper-mode brokers format nothing (the suite
    # writes myid; a ZooKeeper-mode broker writes meta.properties itself).
    if zookeeper_node || ! grep -q '^process.roles=' "$CONF"; then ( load_env; mount_fs ) || exit 1; exit 0; fi
    # Only KT_LAZYFS matters here: the storage tool runs without the
    # faults' environment, as it always has.
    ( load_env; mount_fs ) || exit 1
    # format ID [NAME=LEVEL ...]: feature levels for kafka-storage (4.x).
    id=$2; shift 2
    feats=()
    for f in "$@"; do feats+=(--feature "$f"); done
    java $(java_opts) -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format -t "$id" -c "$CONF" --ignore-formatted "${feats[@]}" >>"$LOGS/format.out" 2>&1
    ;;
  start)
    if alive; then echo "already running: $(pid)"; exit 0; fi
    mkdir -p "$LOGS"
    echo "[$(date -u '+%F %T')] kafka-trial: starting $(zookeeper_node && echo zookeeper || echo broker)" >>"$LOGS/server.out"
    load_env
    mount_fs || exit 1
    if [ -n "${FAKETIME_TIMESTAMP_FILE:-}" ] && [ ! -f "$FAKETIME_TIMESTAMP_FILE" ]; then
      echo "+0" >"$FAKETIME_TIMESTAMP_FILE"
    fi
    if zookeeper_node; then main="org.apache.zookeeper.server.quorum.QuorumPeerMain $ZOOCFG"; else main="kafka.Kafka $CONF"; fi
    setsid bash -c 'echo $$ >'"$PIDFILE"'; exec java '"$(java_opts)"' -cp "/opt/kafka/libs/*" '"$main" \
      >>"$LOGS/server.out" 2>&1 </dev/null &
    for _ in $(seq 1 50); do [ -s "$PIDFILE" ] && break; sleep 0.1; done
    echo "started: $(pid)"
    ;;
  kill)
    if alive; then kill -9 "$(pid)"; for _ in $(seq 1 100); do alive || break; sleep 0.05; done; fi
    alive && { echo "still alive"; exit 1; }
    # Dead; give its threads up to 10 s more to leave the kernel (a start
    # or a drop right after finds the files and the ports released).
    t0=$(date +%s%N)
    for _ in $(seq 1 200); do gone && break; sleep 0.05; done
    if gone; then echo "killed (gone after $(( ($(date +%s%N) - t0) / 1000000 )) ms)"; else echo "killed (not yet reaped)"; fi
    ;;
  drop-unfsynced)
    # The power loss of the disk: only for a dead broker (a live one would
    # keep the mount busy, and its page cache is what is being lost).
    if alive; then echo "the broker is alive ($(pid)): kill it before drop-unfsynced" >&2; exit 1; fi
    load_env
    [ "${KT_LAZYFS:-0}" = 1 ] || { echo "this node does not run on kt-lazyfs (KT_LAZYFS is not 1)" >&2; exit 1; }
    echo "[$(date -u '+%F %T')] kafka-trial: drop-unfsynced" >>"$LOGS/lazyfs.out"
    # Wait (bounded: 30 s) for the killed JVM to be gone from the kernel,
    # then drop; an unmount still refused as busy (a FUSE release in
    # flight) is tried again, up to 40 times 0.25 s apart. The report says
    # how long the wait took and how many drops were tried again.
    t0=$(date +%s%N)
    for _ in $(seq 1 600); do gone && break; sleep 0.05; done
    waited=$(( ($(date +%s%N) - t0) / 1000000 ))
    gone || echo "[$(date -u '+%F %T')] kafka-trial: the killed JVM $(pid) is not gone after ${waited} ms: $(holders)" >>"$LOGS/lazyfs.out"
    retries=0
    while :; do
      if report=$(lazyfs drop --mountpoint "$DATA" --state "$LZSTATE" 2>/tmp/kt-drop.err); then break; fi
      err=$(cat /tmp/kt-drop.err)
      if [[ $err == *busy* ]] && [ "$retries" -lt 40 ]; then
        retries=$((retries + 1)); sleep 0.25; continue
      fi
      echo "$err; after ${retries} retries and ${waited} ms waiting for the killed JVM; holders: $(holders)" >&2
      exit 1
    done
    report="${report%\}},\"busy_retries\":$retries,\"waited_gone_ms\":$waited}"
    echo "$report" >>"$LOGS/lazyfs.out"
    mount_fs || exit 1
    echo "$report"
    ;;
  pause) alive && kill -STOP "$(pid)" ;;
  resume) alive && kill -CONT "$(pid)" ;;
  state)
    # One read of the status file (the same race as alive's: a process
    # that dies between two reads must not read as running).
    case "$(pstate)" in
      ''|Z|X) echo dead ;;
      T|t) echo paused ;;
      *) echo running ;;
    esac
    ;;
  *) echo "usage: broker format ID [FEATURE=LEVEL...]|start|kill|pause|resume|state|drop-unfsynced" >&2; exit 2 ;;
esac
