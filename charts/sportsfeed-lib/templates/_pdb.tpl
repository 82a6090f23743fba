{{- define "sportsfeed-lib.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
spec:
  {{- if hasKey .Values.podDisruptionBudget "minAvailable" }}
  {{- /* minAvailable, when given, takes precedence over the default maxUnavailable */}}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  {{- end }}
  # A pod that is not ready serves nothing: evicting it never hurts, so a drain is not blocked by it.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "sportsfeed-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}
