#!/usr/bin/env bash
# Pin the base and proxy images by digest (run at release time on a machine with registry access and docker buildx):
# resolves each tag below to the digest of its multi-platform index and rewrites deploy/Dockerfile and
# deploy/k8s/deployment.yaml to `<tag>@sha256:<digest>`. Review the diff and commit it with the release.
set -euo pipefail
cd "$(dirname "$0")"
pin() {  # pin <file> <image:tag>
  local digest
  digest="$(docker buildx imagetools inspect "$2" --format '{{json .Manifest.Digest}}' | tr -d '"')"
  case "$digest" in sha256:*) ;; *) echo "pin-images: no digest for $2" >&2; exit 1 ;; esac
  sed -i -E "s#$(printf '%s' "$2" | sed 's/[.]/[.]/g')(@sha256:[0-9a-f]{64})?#$2@$digest#g" "$1"
  echo "pinned $2@$digest in $1"
}
pin Dockerfile python:3.11-slim
pin k8s/deployment.yaml nginxinc/nginx-unprivileged:1.28-alpine
