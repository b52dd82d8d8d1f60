{{/* The operator's namespace: namespaceOverride, else the release's. */}}
{{- define "seldon-meta-operator.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/* The operator's image: repository@digest when a digest is set, else repository:tag (tag: the appVersion). */}}
{{- define "seldon-meta-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
