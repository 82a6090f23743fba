{{- define "sportsfeed-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
  selector:
    {{- include "sportsfeed-lib.selectorLabels" . | nindent 4 }}
{{- end }}
