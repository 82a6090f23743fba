{{/* Every non-secret setting of the service; secrets never land here (validateValues). */}}
{{- define "sportsfeed-lib.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
data:
  {{- include "sportsfeed-lib.configData" . | nindent 2 }}
{{- end }}
