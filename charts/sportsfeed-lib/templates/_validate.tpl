{{/*
Refuse values that would render but not work, or not safely. values.schema.json already
checks types and names; these are the checks across keys. Each message names the chart and
the key to change.
*/}}
{{- define "sportsfeed-lib.validateValues" -}}
{{- $chart := .Chart.Name }}
{{- $v := .Values }}
{{- $errors := list }}

{{- if and (not $v.autoscaling.enabled) (lt (int $v.replicaCount) 1) }}
{{- $errors = append $errors (printf "replicaCount must be at least 1 while autoscaling is off (it is %v)" $v.replicaCount) }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%v) is above autoscaling.maxReplicas (%v)" $v.autoscaling.minReplicas $v.autoscaling.maxReplicas) }}
{{- end }}

{{- $pdb := $v.podDisruptionBudget }}
{{- if $pdb.enabled }}
{{- $replicas := ternary $v.autoscaling.minReplicas $v.replicaCount $v.autoscaling.enabled | int }}
{{- if and (hasKey $pdb "minAvailable") (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) $replicas) }}
{{- $errors = append $errors (printf "podDisruptionBudget.minAvailable (%v) leaves no pod of %d to evict: every node drain would hang" $pdb.minAvailable $replicas) }}
{{- end }}
{{- end }}

{{- if $v.ingress.enabled }}
{{- if not $v.ingress.host }}
{{- $errors = append $errors "ingress.enabled is true but ingress.host is empty: name the host the load balancer answers for" }}
{{- end }}
{{- if and (eq $v.ingress.className "alb") (not $v.ingress.alb.certificateArn) }}
{{- $errors = append $errors "ingress.alb.certificateArn is empty: the ALB listens on HTTPS only and needs an ACM certificate" }}
{{- end }}
{{- if $v.env.ANONYMOUS_FEEDS_PROVIDER }}
{{- $errors = append $errors "env.ANONYMOUS_FEEDS_PROVIDER lets anyone post feeds without a key: never set it on a service exposed through an ingress" }}
{{- end }}
{{- end }}

{{- range $part := list "requests" "limits" }}
{{- range $resource := list "cpu" "memory" }}
{{- if not (dig $part $resource "" $v.resources) }}
{{- $errors = append $errors (printf "resources.%s.%s is not set: every container states what it needs and may use" $part $resource) }}
{{- end }}
{{- end }}
{{- end }}

{{- range $name, $key := dict "PORT" "port" "TOPIC_REPLICATION_FACTOR" "global.kafka.replicationFactor" "KAFKA_BOOTSTRAP_SERVERS" "global.kafka.bootstrapServers" }}
{{- if and (hasKey $v.env $name) (not (kindIs "invalid" (index $v.env $name))) }}
{{- $errors = append $errors (printf "env.%s is set by the chart from %s: set that instead, so the release agrees with itself" $name $key) }}
{{- end }}
{{- end }}

{{- $kafka := $v.global.kafka }}
{{- $saslProtocol := hasPrefix "SASL_" $kafka.securityProtocol }}
{{- if and $saslProtocol (not $kafka.sasl.mechanism) }}
{{- $errors = append $errors (printf "global.kafka.securityProtocol is %s but global.kafka.sasl.mechanism is empty: OAUTHBEARER (MSK IAM) or SCRAM-SHA-512" $kafka.securityProtocol) }}
{{- end }}
{{- if and $kafka.sasl.mechanism (not $saslProtocol) }}
{{- $errors = append $errors (printf "global.kafka.sasl.mechanism %s needs global.kafka.securityProtocol SASL_SSL, not %s" $kafka.sasl.mechanism $kafka.securityProtocol) }}
{{- end }}
{{- if and (eq $kafka.sasl.mechanism "SCRAM-SHA-512") (not $kafka.sasl.existingSecret) }}
{{- $errors = append $errors "global.kafka.sasl.existingSecret is empty: SCRAM-SHA-512 reads KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD from it" }}
{{- end }}
{{- if eq $kafka.sasl.mechanism "OAUTHBEARER" }}
{{- if ne $kafka.securityProtocol "SASL_SSL" }}
{{- $errors = append $errors "global.kafka.sasl.mechanism OAUTHBEARER (MSK IAM) is offered over TLS only: securityProtocol SASL_SSL" }}
{{- end }}
{{- if not $v.serviceAccount.roleArn }}
{{- $errors = append $errors "serviceAccount.roleArn is empty: with MSK IAM (OAUTHBEARER) the pods sign Kafka tokens with their IRSA role, which needs kafka-cluster permissions" }}
{{- end }}
{{- end }}

{{- $secretNames := include "sportsfeed-lib.secretNames" . | splitList " " }}
{{- range $name, $value := $v.env }}
{{- if and (has $name $secretNames) (not (kindIs "invalid" $value)) }}
{{- $errors = append $errors (printf "env.%s: %s is a secret and never a plain value; reference a key of an existing Secret with secretEnv.%s (REDIS_URL: global.redis.existingSecret)" $name $name $name) }}
{{- end }}
{{- end }}
{{- range $name, $ref := $v.secretEnv }}
{{- if and $ref (hasKey $v.env $name) (not (kindIs "invalid" (index $v.env $name))) }}
{{- $errors = append $errors (printf "%s is in both env and secretEnv: keep the secretEnv reference" $name) }}
{{- end }}
{{- end }}
{{- if and $v.connectsTo.redis (not $v.global.redis.existingSecret) (not $v.global.redis.url) }}
{{- $errors = append $errors "global.redis.url and global.redis.existingSecret are both empty: the service needs Redis" }}
{{- end }}
{{- if and $v.connectsTo.redis (not $v.global.redis.existingSecret) (contains "@" $v.global.redis.url) }}
{{- $errors = append $errors "global.redis.url carries credentials: put the whole URL in a Secret and name it in global.redis.existingSecret" }}
{{- end }}

{{- if and (eq (toString $v.env.AUTH_ENABLED | lower) "true") (not $v.secretEnv.JWT_SECRET) }}
{{- $errors = append $errors "env.AUTH_ENABLED is true but secretEnv.JWT_SECRET is not set: tokens cannot be checked without the secret they are signed with" }}
{{- end }}

{{- $preStop := dig "preStop" "sleep" "seconds" 0 ($v.lifecycle | default dict) }}
{{- if ge (int $preStop) (int $v.terminationGracePeriodSeconds) }}
{{- $errors = append $errors (printf "terminationGracePeriodSeconds (%v) must exceed the preStop sleep (%v), or the service is killed before it drains" $v.terminationGracePeriodSeconds $preStop) }}
{{- end }}

{{- if $errors }}
{{- fail (printf "\n%s values are not valid:\n  - %s" $chart (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
