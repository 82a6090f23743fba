{{/*
`helm test`: a pod that asks the service's Service for /readyz, with the service's own image
(it has Python), as locked down as the service itself.
*/}}
{{- define "sportsfeed-lib.testPod" -}}
{{- if .Values.tests.enabled }}
{{- $url := printf "http://%s:%v/readyz" (include "sportsfeed-lib.fullname" .) .Values.port }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "sportsfeed-lib.fullname" . }}-test-ready
  labels:
    {{- include "sportsfeed-lib.testLabels" . | nindent 4 }}
  annotations:
    helm.sh/hook: test
    # Kept after the run, so that `helm test --logs` can read it; the next run replaces it.
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: ready
      image: {{ include "sportsfeed-lib.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - python
        - -c
        - |
          import sys, time, urllib.request
          deadline = time.monotonic() + {{ .Values.tests.timeoutSeconds }}
          while True:
              try:
                  with urllib.request.urlopen({{ $url | quote }}, timeout=5) as answer:
                      print({{ $url | quote }}, answer.status)
                      sys.exit(0)
              except OSError as error:
                  if time.monotonic() > deadline:
                      sys.exit(f"{{ $url }} is not ready: {error}")
              time.sleep(2)
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.tests.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
{{- end }}
{{- end }}

{{/*
A test pod's labels: not the service's selector labels, so that neither the Service nor the
service's NetworkPolicy (which would cut the test's own egress) selects it.
*/}}
{{- define "sportsfeed-lib.testLabels" -}}
helm.sh/chart: {{ include "sportsfeed-lib.chart" . }}
app.kubernetes.io/name: {{ include "sportsfeed-lib.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/part-of: sportsfeed
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
