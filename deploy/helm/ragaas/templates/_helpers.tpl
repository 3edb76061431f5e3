{{/* Names, labels and the blocks every Ragaas container shares. */}}

{{- define "ragaas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name; components append -api, -worker, ... (kept within 63 chars). */}}
{{- define "ragaas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ragaas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ragaas.labels" -}}
helm.sh/chart: {{ include "ragaas.chart" . }}
{{ include "ragaas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ragaas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragaas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: include "ragaas.componentLabels" (dict "root" $ "component" "api") */}}
{{- define "ragaas.componentLabels" -}}
{{ include "ragaas.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ragaas.componentSelectorLabels" -}}
{{ include "ragaas.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ragaas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ragaas.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ragaas.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding RAGAAS_JWT_SECRET, RAGAAS_SECRET_KEYS and other secret settings. */}}
{{- define "ragaas.secretName" -}}
{{- default (include "ragaas.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Where RAGAAS_DATABASE_URL comes from: (dict "name" SECRET "key" KEY), or empty when the
     existingSecret carries it (read through envFrom). */}}
{{- define "ragaas.databaseSecretRef" -}}
{{- if .Values.postgresql.enabled }}
{{- dict "name" (printf "%s-postgresql" (include "ragaas.fullname" .)) "key" "RAGAAS_DATABASE_URL" | toJson }}
{{- else if .Values.externalDatabase.existingSecret }}
{{- dict "name" .Values.externalDatabase.existingSecret "key" .Values.externalDatabase.urlKey | toJson }}
{{- else if .Values.externalDatabase.url }}
{{- dict "name" (printf "%s-database" (include "ragaas.fullname" .)) "key" "RAGAAS_DATABASE_URL" | toJson }}
{{- else if .Values.existingSecret }}
{{- dict | toJson }}
{{- else }}
{{- fail "no database: enable postgresql, or set externalDatabase.url or externalDatabase.existingSecret" }}
{{- end }}
{{- end }}

{{- define "ragaas.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s-redis:6379/0" (include "ragaas.fullname" .) }}
{{- else }}
{{- .Values.redis.externalUrl }}
{{- end }}
{{- end }}

{{/* Configuration and secrets must exist before the pre-install migration Job runs, so they are
     hooks themselves, created first (weight -10) and replaced on each upgrade. */}}
{{- define "ragaas.preInstallAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

{{/* Environment of every Ragaas container. */}}
{{- define "ragaas.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "ragaas.fullname" . }}
  - secretRef:
      name: {{ include "ragaas.secretName" . }}
env:
  {{- $db := include "ragaas.databaseSecretRef" . | fromJson }}
  {{- if $db.name }}
  - name: RAGAAS_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ $db.name }}
        key: {{ $db.key }}
  {{- end }}
  {{- with include "ragaas.redisUrl" . }}
  - name: RAGAAS_REDIS_URL
    value: {{ . | quote }}
  {{- end }}
  - name: RAGAAS_DATA_DIR
    value: /data
  - name: RAGAAS_WORKERS_IN_PROCESS
    value: "false"
  - name: RAGAAS_SEED_DEMO
    value: "false"
  # The root filesystem is read-only: caches go to the /tmp volume.
  - name: HOME
    value: /tmp
{{- end }}

{{/* Pod-level fields shared by the api, worker, mcp and migration pods. */}}
{{- define "ragaas.podSpecCommon" -}}
serviceAccountName: {{ include "ragaas.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{- define "ragaas.volumes" -}}
volumes:
  - name: tmp
    emptyDir: {}
  - name: data
    {{- if .Values.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-data" (include "ragaas.fullname" .)) .Values.persistence.existingClaim }}
    {{- else }}
    emptyDir: {}
    {{- end }}
{{- end }}

{{- define "ragaas.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: data
    mountPath: /data
{{- end }}

{{/* Restarts pods when the configuration changes. */}}
{{- define "ragaas.checksums" -}}
checksum/config: {{ toJson .Values.config | sha256sum }}
checksum/secrets: {{ toJson .Values.secrets | sha256sum }}
{{- end }}
