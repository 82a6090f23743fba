{{/*
The pod template every service runs in: one container, the image's own command, settings
from the ConfigMap and secret references, probes, resources and security from values.
*/}}
{{- define "sportsfeed-lib.podTemplate" -}}
metadata:
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A changed setting rolls the pods: environment variables are read once, at start.
    checksum/config: {{ include "sportsfeed-lib.configData" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "sportsfeed-lib.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
  # Service links would add a variable per Service in the namespace (KAFKA_PORT, ...) to the environment.
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with include "sportsfeed-lib.topologySpread" . | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  containers:
    - name: {{ .Chart.Name }}
      image: {{ include "sportsfeed-lib.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      ports:
        - name: http
          containerPort: {{ .Values.port }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "sportsfeed-lib.fullname" . }}
      {{- with include "sportsfeed-lib.env" . | trim }}
      env:
        {{- . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      {{- with .Values.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      {{- with .Values.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if .Values.dataDir.path }}
        - name: data
          mountPath: {{ .Values.dataDir.path }}
        {{- end }}
  volumes:
    # The root file system is read-only: Python's temporary files go here.
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- if .Values.dataDir.path }}
    # faust's working files; its table state itself is rebuilt from the changelog topics.
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.dataDir.sizeLimit }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
Replicas spread over zones first, then nodes; matchLabelKeys keeps each rollout's new pods
counted apart from the old ones they replace.
*/}}
{{- define "sportsfeed-lib.topologySpread" -}}
{{- $spread := .Values.topologySpread }}
{{- if $spread.topologyKeys }}
{{- $revisionLabel := ternary "controller-revision-hash" "pod-template-hash" (eq .Values.workload.kind "StatefulSet") }}
topologySpreadConstraints:
{{- range $spread.topologyKeys }}
  - topologyKey: {{ . }}
    maxSkew: {{ $spread.maxSkew }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "sportsfeed-lib.selectorLabels" $ | nindent 8 }}
    matchLabelKeys:
      - {{ $revisionLabel }}
{{- end }}
{{- end }}
{{- end }}
