#!/usr/bin/env bash
# images.sh builds the local test images; `make images` runs it.
#
# minkube/testapp:dev is hack/testapp (a static Go program, standard library
# only) in a FROM scratch image, so it builds with no registry reachable.
# Its behaviour is chosen by subcommand: serve, exit, crash, ignore-sigterm,
# fill-disk, log (see hack/testapp/main.go).
#
# Tests that need the image read its name from MINKUBE_TEST_IMAGE, default
# minkube/testapp:dev; this script builds under the same name, so
#   MINKUBE_TEST_IMAGE=minkube/testapp:mine hack/images.sh
# builds an image those tests will then use.
#
# The image is labelled with a hash of its sources; when an image with the
# same name and hash exists, nothing is built. FORCE=1 rebuilds anyway.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

image="${MINKUBE_TEST_IMAGE:-minkube/testapp:dev}"
label="io.minkube.testapp.source-hash"
src=hack/testapp

hash="$(cat "$src/main.go" "$src/Dockerfile" | sha256sum | cut -c1-16)"
have="$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)"
if [[ "${FORCE:-0}" != 1 && "$have" == "$hash" ]]; then
	echo "$image is up to date ($label=$hash)"
	exit 0
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

echo "building $src"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$ctx/testapp" "./$src"
cp "$src/Dockerfile" "$ctx/Dockerfile"

echo "building image $image ($label=$hash)"
# The classic builder: the engine here is Docker 20.10 and FROM scratch
# needs nothing BuildKit offers.
DOCKER_BUILDKIT=0 docker build --quiet --label "$label=$hash" -t "$image" "$ctx"
echo "built $image"
