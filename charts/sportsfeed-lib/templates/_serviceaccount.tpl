{{/*
The service's own identity. On EKS its IAM role comes through IRSA: the annotation below;
the pod identity webhook mounts the role's web identity token by itself, so the Kubernetes
API token stays unmounted.
*/}}
{{- define "sportsfeed-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "sportsfeed-lib.serviceAccountName" . }}
  labels:
    {{- include "sportsfeed-lib.labels" . | nindent 4 }}
  {{- if or .Values.serviceAccount.roleArn .Values.serviceAccount.annotations }}
  annotations:
    {{- with .Values.serviceAccount.roleArn }}
    eks.amazonaws.com/role-arn: {{ . | quote }}
    {{- end }}
    {{- with .Values.serviceAccount.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end }}
{{- end }}
