{{/* Helpers of the umbrella chart's own resources; names and labels come from sportsfeed-lib. */}}

{{/*
The Service name of a service of this release: (dict "root" $ "service" "ingest"). It follows
the service chart's fullname rule with the values it is given here.
*/}}
{{- define "sportsfeed.serviceName" -}}
{{- $values := index .root.Values .service }}
{{- $name := default .service $values.nameOverride }}
{{- $fullname := $values.fullnameOverride }}
{{- if not $fullname }}
{{- $fullname = ternary .root.Release.Name (printf "%s-%s" .root.Release.Name $name) (contains $name .root.Release.Name) }}
{{- end }}
{{- $fullname | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The in-cluster URL of a service of this release: (dict "root" $ "service" "ingest"). */}}
{{- define "sportsfeed.serviceUrl" -}}
{{- printf "http://%s:%v" (include "sportsfeed.serviceName" .) (index .root.Values .service).port }}
{{- end }}

{{/*
The image of one of this chart's own pods: (dict "root" $ "image" <its image values> "service" <the service whose image it falls back to>).
*/}}
{{- define "sportsfeed.image" -}}
{{- $service := index .root.Values .service }}
{{- $image := deepCopy .image }}
{{- if not $image.repository }}
{{- $_ := set $image "repository" $service.image.repository }}
{{- $_ := set $image "tag" ($image.tag | default $service.image.tag) }}
{{- $_ := set $image "digest" ($image.digest | default $service.image.digest) }}
{{- $_ := set $image "registry" ($image.registry | default $service.image.registry) }}
{{- end }}
{{- include "sportsfeed-lib.imageRef" (dict "image" $image "registry" .root.Values.global.imageRegistry "appVersion" .root.Chart.AppVersion) }}
{{- end }}

{{/* Labels of this chart's own pods: never a service's selector labels. */}}
{{- define "sportsfeed.labels" -}}
{{ include "sportsfeed-lib.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
