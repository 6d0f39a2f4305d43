#!/usr/bin/env bash
# Builds the pinned toolchain of the CNI-migration rehearsal from Go modules (offline machine:
# only the Go module proxy, npm and apt are reachable) and caches it outside the repository.
#
#   scripts/toolchain.sh [--only pulumi|kube|ci]   (default: everything)
#
# Each entry is taken from PATH when the right version is already there, else built once into
#   ${CNI_MIGRATION_CACHE:-$HOME/.cache/cni-migration}/toolchain/<name>-<version>/<binary>
# (built in a temp dir beside it and renamed into place only on success), with build logs in
# .../toolchain/logs/. A rerun builds nothing. At the end .../toolchain/env.sh is written (PATH,
# plus KWOK_* variables naming the local control-plane binaries so kwokctl downloads nothing) and
# printed as the last lines; use it with `. "${CNI_MIGRATION_CACHE:-$HOME/.cache/cni-migration}/toolchain/env.sh"`.
#
# Not built, on purpose: pulumi-language-nodejs and pulumi-resource-command. The project does
# not need them: it runs its Pulumi program as an Automation API inline program (the Node.js SDK
# serves the language runtime itself, so no language host binary) and runs its CLI steps through
# its own dynamic provider instead of @pulumi/command. The module proxy here does not serve those
# two modules at any version anyway (pulumi-language-nodejs is a never-tagged module of its own).
#
# What turned out to be true here (the module proxy serves only a subset of versions):
# - pulumi-kubernetes/provider/v4 is served only at the commit of tag v4.25.0, so the kubernetes
#   provider is 4.25.0, not 4.32.0.
# - Kubernetes v1.27.16 (the simulated clusters' version) builds with Go 1.26 as it is: no
#   linkname errors, so no -checklinkname=0. Its staging modules come from their v0.27.16 tags.
# - pulumi-resource-kubernetes has no -version flag: its PATH check reads the Go build info.
# - kwokctl then needs nothing downloaded: `. env.sh; kwokctl create cluster --name NAME`
#   (KWOK_RUNTIME=binary, KWOK_KUBE_VERSION and every KWOK_*_BINARY come from env.sh).
set -euo pipefail

ONLY=all
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="${2:-}"; shift $(($# > 1 ? 2 : 1)) ;;
    --only=*) ONLY="${1#--only=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--only pulumi|kube|ci]" >&2; exit 2 ;;
  esac
done
case "$ONLY" in all|pulumi|kube|ci) ;; *) echo "--only takes pulumi, kube or ci, not '$ONLY'" >&2; exit 2 ;; esac

PULUMI_VERSION=v3.248.0
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199     # commit f47bc2d6f199 = tag v4.25.0
KUBE_VERSION=v1.27.16
ETCD_VERSION=v3.6.17
KWOK_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12   # checks .github/workflows in .ci/run

CACHE="${CNI_MIGRATION_CACHE:-$HOME/.cache/cni-migration}/toolchain"
LOGS="$CACHE/logs"
mkdir -p "$CACHE" "$LOGS"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
GO="nice -n 10 go"
RETRY="scripts/toolchain.sh"; [ "$ONLY" = all ] || RETRY+=" --only $ONLY"
FOUND_DIRS=()
BUILD_DIRS=()
cleanup() { local d; for d in "${BUILD_DIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

say() { echo "toolchain: $*" >&2; }
command -v go >/dev/null || { say "ERROR: go is not installed (need Go >= 1.26)"; exit 1; }

# fail ENTRY LOG: explain what failed and how to retry, then stop.
fail() {
  say "ERROR: building $1 failed; last lines of $2:"
  tail -n 25 "$2" >&2 || true
  say "Nothing half-built was kept. Fix the cause and retry with: $RETRY"
  exit 1
}

# on_path PATTERN BIN ARGS...: true if BIN is on PATH and `BIN ARGS` prints PATTERN
# (ARGS `@buildinfo`: the Go build info of BIN, with its -ldflags, is searched instead).
on_path() {
  local pattern="$1" bin="$2" out; shift 2
  command -v "$bin" >/dev/null 2>&1 || return 1
  if [ "${1:-}" = @buildinfo ]; then out="$(go version -m "$(command -v "$bin")" 2>&1)" || true
  else out="$(timeout 20 "$bin" "$@" 2>&1 </dev/null)" || true; fi
  grep -qF -- "$pattern" <<<"$out"
}

# entry NAME VERSION CHECKS BUILDER: CHECKS is "pattern|bin args" lines telling whether PATH
# already has the right binaries; else `BUILDER OUT` (output in logs/) fills OUT, which becomes
# the cache entry.
entry() {
  local name="$1" version="$2" checks="$3" builder="$4"
  local dir="$CACHE/$name-$version" log="$LOGS/$name-$version.log" all=1 pattern cmd
  if [ -d "$dir" ]; then say "$name $version: cached in $dir"; return 0; fi
  while IFS='|' read -r pattern cmd; do
    [ -n "$cmd" ] || continue
    # shellcheck disable=SC2086
    on_path "$pattern" $cmd || { all=0; break; }
  done <<<"$checks"
  if [ "$all" = 1 ]; then
    while IFS='|' read -r pattern cmd; do
      [ -z "$cmd" ] || FOUND_DIRS+=("$(dirname "$(command -v "${cmd%% *}")")")
    done <<<"$checks"
    say "$name $version: found on PATH"; return 0
  fi
  local tmp; tmp="$(mktemp -d "$CACHE/.build-$name-XXXXXX")"; BUILD_DIRS+=("$tmp")
  mkdir -p "$tmp/out" "$tmp/work"
  say "$name $version: building (log: $log) ..."
  local start=$SECONDS rc=0
  # A background subshell keeps `set -e` in force there (it is ignored left of `||`).
  ( cd "$tmp/work" && "$builder" "$tmp/out" ) >"$log" 2>&1 &
  wait $! || rc=$?
  [ "$rc" = 0 ] || fail "$name $version" "$log"
  mv "$tmp/out" "$dir" && rm -rf "$tmp"
  say "$name $version: built in $((SECONDS - start))s -> $dir"
}

# download MODULE@VERSION: prints its Dir; fails (naming the module) when the proxy refuses it.
download() {
  local out
  if ! out="$($GO mod download -json "$1" 2>&1)" || grep -q '"Error"' <<<"$out"; then
    echo "$out" >&2
    if grep -qE 'not available|403|404|410|unknown revision' <<<"$out"; then
      echo "the Go module proxy does not serve $1" >&2
    fi
    exit 1
  fi
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$out"
}

# wrapper MODPATH@VERSION: a throwaway main module requiring it (keeps its replaces out).
wrapper() {
  go mod init toolchain.local/wrapper >/dev/null 2>&1
  $GO get "$1"
}

build_pulumi() {
  wrapper github.com/pulumi/pulumi/pkg/v3@"$PULUMI_VERSION"
  $GO build -tags osusergo,grpcnotrace -o "$1/pulumi" -ldflags \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_k8s_provider() {
  local src mod=github.com/pulumi/pulumi-kubernetes/provider/v4
  src="$(download "$mod@$K8S_PROVIDER_PSEUDO")"
  cp -r "$src/." . && chmod -R u+w .
  # `sdk/v4 => ../sdk` points outside the module zip; the provider binary needs no local sdk.
  go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4
  (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PROVIDER_VERSION" $GO generate ./...)
  $GO build -o "$1/pulumi-resource-kubernetes" -ldflags \
    "-s -w -X $mod/pkg/version.Version=$K8S_PROVIDER_VERSION" ./cmd/pulumi-resource-kubernetes
}

build_kubernetes() {
  local src minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${KUBE_VERSION#v1.}"
  src="$(download "k8s.io/kubernetes@$KUBE_VERSION")"
  go mod init toolchain.local/kube >/dev/null 2>&1
  # Its staging modules are `replace k8s.io/x => ./staging/...`: point each at its release.
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$src/go.mod" | while read -r m; do
    go mod edit -replace="$m=$m@$staging"
  done
  grep -E '^godebug' "$src/go.mod" >>go.mod || true
  go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
  local x="" p; for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    x+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for p in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    $GO build -o "$1/$p" -ldflags "-s -w $x" "k8s.io/kubernetes/cmd/$p"
  done
}

build_etcd() {
  wrapper go.etcd.io/etcd/server/v3@"$ETCD_VERSION"
  $GO build -o "$1/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

build_kwok() {
  GOBIN="$1" $GO install -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

build_actionlint() {
  GOBIN="$1" $GO install -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
}

export PULUMI_SKIP_UPDATE_CHECK=true
if [ "$ONLY" = all ] || [ "$ONLY" = ci ]; then
  entry actionlint "$ACTIONLINT_VERSION" "$ACTIONLINT_VERSION|actionlint -version" build_actionlint
fi
if [ "$ONLY" != kube ] && [ "$ONLY" != ci ]; then
  entry pulumi "$PULUMI_VERSION" "$PULUMI_VERSION|pulumi version" build_pulumi
  entry pulumi-resource-kubernetes "$K8S_PROVIDER_VERSION" \
    "version.Version=$K8S_PROVIDER_VERSION|pulumi-resource-kubernetes @buildinfo" build_k8s_provider
fi
if [ "$ONLY" != pulumi ] && [ "$ONLY" != ci ]; then
  entry kubernetes "$KUBE_VERSION" "$(printf '%s\n' \
    "$KUBE_VERSION|kube-apiserver --version" "$KUBE_VERSION|kube-controller-manager --version" \
    "$KUBE_VERSION|kube-scheduler --version" "$KUBE_VERSION|kubectl version --client")" build_kubernetes
  entry etcd "$ETCD_VERSION" "etcd Version: ${ETCD_VERSION#v}|etcd --version" build_etcd
  entry kwok "$KWOK_VERSION" "$(printf '%s\n' "${KWOK_VERSION#v}|kwok --version" \
    "${KWOK_VERSION#v}|kwokctl --version")" build_kwok
fi

# env.sh covers every entry present in the cache (from this or an earlier --only run).
path=""
for d in "$CACHE"/pulumi-"$PULUMI_VERSION" "$CACHE"/pulumi-resource-kubernetes-"$K8S_PROVIDER_VERSION" \
  "$CACHE"/kubernetes-"$KUBE_VERSION" "$CACHE"/etcd-"$ETCD_VERSION" "$CACHE"/kwok-"$KWOK_VERSION" \
  "$CACHE"/actionlint-"$ACTIONLINT_VERSION"; do
  [ -d "$d" ] && path+="$d:"
done
for d in "${FOUND_DIRS[@]}"; do case ":$path" in *":$d:"*) ;; *) path+="$d:" ;; esac; done
bin() { local d; d="$(PATH="$path$PATH" command -v "$1" 2>/dev/null)" && printf '%s' "$d"; }
envtmp="$(mktemp "$CACHE/.env.XXXXXX")"; BUILD_DIRS+=("$envtmp")
{
  echo "# written by scripts/toolchain.sh; source it to use the pinned toolchain"
  echo "export PATH=\"$path\$PATH\""
  if [ -n "$(bin kube-apiserver)" ] && [ -n "$(bin etcd)" ] && [ -n "$(bin kwok)" ]; then
    echo "export KWOK_KUBE_VERSION=$KUBE_VERSION KWOK_RUNTIME=binary"
    echo "export KWOK_KUBE_APISERVER_BINARY=$(bin kube-apiserver)" \
      "KWOK_KUBE_CONTROLLER_MANAGER_BINARY=$(bin kube-controller-manager)" \
      "KWOK_KUBE_SCHEDULER_BINARY=$(bin kube-scheduler) KWOK_KUBECTL_BINARY=$(bin kubectl)" \
      "KWOK_ETCD_BINARY=$(bin etcd) KWOK_CONTROLLER_BINARY=$(bin kwok)"
  fi
} >"$envtmp" && chmod 644 "$envtmp" && mv "$envtmp" "$CACHE/env.sh"

say "env file: $CACHE/env.sh"
cat "$CACHE/env.sh"
