#!/bin/bash
# kafka-trial: control of the broker process inside a node.
set -u
PIDFILE=/run/kt-broker.pid
CONF=/opt/kt/server.properties
LOGS=/var/log/kafka
pid() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }
alive() {
  local p; p=$(pid) || return 1
  [ -r "/proc/$p/status" ] || return 1
  ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$p/status"
}
java_opts() {
  echo "-Xms${KT_HEAP_MB}m -Xmx${KT_HEAP_MB}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Dkafka.logs.dir=$LOGS -Dlog4j2.configurationFile=/opt/kt/log4j2.properties"
}
case "${1:-}" in
  format)
    mkdir -p "$LOGS"
    java $(java_opts) -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format -t "$2" -c "$CONF" --ignore-formatted >>"$LOGS/format.out" 2>&1
    ;;
  start)
    if alive; then echo "already running: $(pid)"; exit 0; fi
    mkdir -p "$LOGS"
    echo "[$(date -u '+%F %T')] kafka-trial: starting broker" >>"$LOGS/server.out"
    # The environment the run's faults require of the broker process
    # (e.g. libfaketime's for the clock fault), written by the suite.
    if [ -f /opt/kt/broker.env ]; then set -a; . /opt/kt/broker.env; set +a; fi
    if [ -n "${FAKETIME_TIMESTAMP_FILE:-}" ] && [ ! -f "$FAKETIME_TIMESTAMP_FILE" ]; then
      echo "+0" >"$FAKETIME_TIMESTAMP_FILE"
    fi
    setsid bash -c 'echo $$ >'"$PIDFILE"'; exec java '"$(java_opts)"' -cp "/opt/kafka/libs/*" kafka.Kafka '"$CONF" \
      >>"$LOGS/server.out" 2>&1 </dev/null &
    for _ in $(seq 1 50); do [ -s "$PIDFILE" ] && break; sleep 0.1; done
    echo "started: $(pid)"
    ;;
  kill)
    if alive; then kill -9 "$(pid)"; for _ in $(seq 1 100); do alive || break; sleep 0.05; done; fi
    alive && { echo "still alive"; exit 1; }
    echo "killed"
    ;;
  pause) alive && kill -STOP "$(pid)" ;;
  resume) alive && kill -CONT "$(pid)" ;;
  state)
    if alive; then
      if grep -q '^State:[[:space:]]*T' "/proc/$(pid)/status"; then echo paused; else echo running; fi
    else
      echo dead
    fi
    ;;
  *) echo "usage: broker format ID|start|kill|pause|resume|state" >&2; exit 2 ;;
esac
