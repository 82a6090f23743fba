#!/bin/bash
# Stand-in for Apache Kafka 3.9's bin/kafka-server-start.sh (see kafka-run-class.sh): the broker in
# the foreground, logging with config/log4j.properties, a 1 GB heap unless KAFKA_HEAP_OPTS says.
if [ $# -lt 1 ]; then
  echo "USAGE: $0 server.properties [--override property=value]*" >&2
  exit 1
fi
base_dir=$(dirname "$0")
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  export KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/../config/log4j.properties"
fi
if [ -z "$KAFKA_HEAP_OPTS" ]; then
  export KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"
fi
exec "$base_dir/kafka-run-class.sh" -name kafkaServer -loggc kafka.Kafka "$@"
