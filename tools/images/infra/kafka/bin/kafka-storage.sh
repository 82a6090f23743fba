#!/bin/bash
# Stand-in for Apache Kafka 3.9's bin/kafka-storage.sh (see kafka-run-class.sh).
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
