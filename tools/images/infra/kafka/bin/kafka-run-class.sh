#!/bin/bash
# Stand-in for Apache Kafka 3.9's bin/kafka-run-class.sh (the binary distribution is not reachable
# from the build machines; its jars come from Maven Central). It keeps what the distribution's
# script does for a foreground JVM: the classpath is every jar in ../libs; KAFKA_HEAP_OPTS,
# KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS (+ JMX_PORT), KAFKA_LOG4J_OPTS,
# KAFKA_OPTS, JAVA_HOME, CLASSPATH and LOG_DIR (default ../logs, created if missing) mean what they
# mean there; `-name NAME -loggc` writes the GC log to $LOG_DIR/NAME-gc.log. No -daemon mode.
set -e
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
base_dir=$(cd "$(dirname "$0")/.." && pwd)

for file in "$base_dir"/libs/*.jar; do
  CLASSPATH="${CLASSPATH:+$CLASSPATH:}$file"
done

if [ -z "$KAFKA_JMX_OPTS" ]; then
  KAFKA_JMX_OPTS="-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
fi
if [ -n "$JMX_PORT" ]; then
  KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=$JMX_PORT"
  [ -n "$JMX_RMI_PORT" ] && KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.rmi.port=$JMX_RMI_PORT"
fi

LOG_DIR=${LOG_DIR:-$base_dir/logs}
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/config/tools-log4j.properties"
fi
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"

KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
if [ -z "$KAFKA_JVM_PERFORMANCE_OPTS" ]; then
  KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
fi

DAEMON_NAME=""
GC_LOG_ENABLED=false
while [ $# -gt 0 ]; do
  case "$1" in
    -name) DAEMON_NAME=$2; shift 2 ;;
    -loggc) GC_LOG_ENABLED=true; shift ;;
    -daemon) echo "kafka-run-class.sh: -daemon is not supported by this stand-in" >&2; exit 1 ;;
    *) break ;;
  esac
done

if [ "$GC_LOG_ENABLED" = true ] && [ -z "$KAFKA_GC_LOG_OPTS" ]; then
  KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/${DAEMON_NAME}-gc.log:time,tags:filecount=10,filesize=100M"
fi

if [ -z "$JAVA_HOME" ]; then JAVA=java; else JAVA="$JAVA_HOME/bin/java"; fi

mkdir -p "$LOG_DIR"

# Word splitting of the option variables is intended, as in the distribution's script.
# shellcheck disable=SC2086
exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS \
  -cp "$CLASSPATH" $KAFKA_OPTS "$@"
