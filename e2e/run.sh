#!/usr/bin/env bash
# make e2e: apply the rendered environments to a real Kubernetes control
# plane (etcd, kube-apiserver, kube-controller-manager on loopback) and check
# that the API server admits what the policy rules admit, and refuses what
# they refuse. The assertions are the Go test in e2e/ (build tag e2e); this
# script provides the control plane, runs the test and stops what it started.
#
# Knobs (environment variables, with their defaults):
#   E2E_CACHE_DIR     ${XDG_CACHE_HOME:-$HOME/.cache}/gitopsc-e2e
#                     kube-apiserver and kube-controller-manager are built
#                     once per version into E2E_CACHE_DIR/<version>-<hash>/,
#                     promconfig (e2e/promconfig) into
#                     E2E_CACHE_DIR/promconfig-<version>-<hash>/
#   E2E_FLUX_CRDS     testdata/e2e/crds/flux (made by e2e/flux-crds.sh)
#   E2E_POD_TIMEOUT   90s  (each wait for pods to be created or refused)
#   E2E_RUN_TIMEOUT   8m   (go test -timeout)
#   E2E_TEST_RUN      ''   (go test -run, to select cases)
#   E2E_KEEP          0    (1 keeps the work folder: logs, certificates)
#   E2E_INSTALL_ETCD  1    (0: fail instead of apt-get installing etcd-server)
#   E2E_OUT           ''   (an output folder of gitopsc build --out DIR to
#                     test as it is, instead of out/ or a fresh build)
#   E2E_FLUX          0    (1, as make e2e-flux sets it: also build and start
#                     kube-scheduler, kwok, source-controller and
#                     kustomize-controller, and run kube-apiserver with
#                     --watch-cache=false; TestFlux runs only then)
#   E2E_FLUX_TIMEOUT  8m   (TestFlux: the wait for one environment's
#                     Kustomizations to be Ready)
# The Kubernetes version is the one e2e/controlplane/go.mod requires, the
# Prometheus version the one e2e/promconfig/go.mod requires. The test gets
# promconfig's path in E2E_PROMCONFIG.
#
# bash e2e/run.sh CMD ARGS... runs CMD against the control plane instead of
# the test, with E2E_SERVER, E2E_TOKEN, E2E_CA_FILE, E2E_PROMCONFIG and
# KUBECONFIG set:
# bash e2e/run.sh bash gives a shell to look around in.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# E2E_OUT may be relative to where the script was started; the test runs
# in e2e/.
if [ -n "${E2E_OUT:-}" ]; then
	out="$(cd "$E2E_OUT" 2>/dev/null && pwd)" || { printf 'e2e: E2E_OUT=%s is not a folder\n' "$E2E_OUT" >&2; exit 1; }
	export E2E_OUT="$out"; unset out
fi
cd "$ROOT"
export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

started=$(date +%s)

# --- etcd ---------------------------------------------------------------
ETCD="$(command -v etcd || true)"
if [ -z "$ETCD" ] && [ -x /usr/bin/etcd ]; then ETCD=/usr/bin/etcd; fi
if [ -z "$ETCD" ]; then
	[ "${E2E_INSTALL_ETCD:-1}" = 1 ] || die "etcd not found and E2E_INSTALL_ETCD=0"
	say "installing etcd-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq etcd-server >&2
	# The package starts a system etcd on the default ports; this run uses
	# ports of its own, but the system one is not wanted either.
	systemctl stop etcd >/dev/null 2>&1 || service etcd stop >/dev/null 2>&1 || true
	ETCD=/usr/bin/etcd
fi

# --- kube-apiserver and kube-controller-manager, built once per version --
CP="$ROOT/e2e/controlplane"
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$CP/go.mod")"
[ -n "$K8S_VERSION" ] || die "no k8s.io/kubernetes requirement in $CP/go.mod"
KEY="$(cat "$CP/go.mod" "$CP/go.sum" <(go env GOVERSION GOARCH) | sha256sum | cut -c1-12)"
CACHE="${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitopsc-e2e}"
BIN="$CACHE/$K8S_VERSION-$KEY"
minor="${K8S_VERSION#v}"; major="${minor%%.*}"; minor="${minor#*.}"; minor="${minor%%.*}"
v=k8s.io/component-base/version
if [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/kube-controller-manager" ]; then
	say "building kube-apiserver and kube-controller-manager $K8S_VERSION into $BIN (several minutes the first time)"
	t0=$(date +%s)
	rm -rf "$BIN.tmp" && mkdir -p "$BIN.tmp"
	(cd "$CP" && go build -mod=readonly -trimpath \
		-ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
		-o "$BIN.tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
	rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
	say "built in $(( $(date +%s) - t0 ))s"
fi

# --- promconfig: Prometheus's own config loader, built once per version ---
# The test checks each rendered prometheus.yml with it (prometheus_test.go).
# Its main.go is in the key too: the module has source of its own.
PC="$ROOT/e2e/promconfig"
PROM_VERSION="$(awk '$1 == "require" && $2 == "github.com/prometheus/prometheus" {print $3}' "$PC/go.mod")"
[ -n "$PROM_VERSION" ] || die "no github.com/prometheus/prometheus requirement in $PC/go.mod"
PC_KEY="$(cat "$PC/go.mod" "$PC/go.sum" "$PC/main.go" <(go env GOVERSION GOARCH) | sha256sum | cut -c1-12)"
PC_BIN="$CACHE/promconfig-$PROM_VERSION-$PC_KEY"
if [ ! -x "$PC_BIN/promconfig" ]; then
	say "building promconfig (github.com/prometheus/prometheus $PROM_VERSION's config loader) into $PC_BIN (about 3 minutes the first time)"
	t0=$(date +%s)
	rm -rf "$PC_BIN.tmp" && mkdir -p "$PC_BIN.tmp"
	(cd "$PC" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$PC_BIN.tmp/" .)
	rm -rf "$PC_BIN" && mv "$PC_BIN.tmp" "$PC_BIN"
	say "built in $(( $(date +%s) - t0 ))s"
fi
export E2E_PROMCONFIG="$PC_BIN/promconfig"

# --- E2E_FLUX=1 (make e2e-flux): real Flux controllers, a scheduler, kwok --
# Built once into the same cache, each keyed by its version and the Go
# version: source-controller and kustomize-controller from their module
# (go install cannot: their go.mod replaces ./api, which the module zip
# leaves out, so the module is copied to a scratch folder with its api
# module put at ./api), kube-scheduler from e2e/controlplane into the
# control plane's folder, kwok with go install, and sops and age-keygen
# for the test's own SOPS key (E2E_SOPS, E2E_AGE_KEYGEN). The CRDs and
# kwok's stage configs are read from the same modules' folders.
FLUX_SOURCE_VERSION=v1.9.0
FLUX_KUSTOMIZE_VERSION=v1.9.6
# helm-controller v1.6.5's module is refused by the proxy; v1.6.4 builds
# and serves the same helm.toolkit.fluxcd.io/v2 API.
FLUX_HELM_VERSION=v1.6.4
KWOK_VERSION=v0.8.0
SOPS_VERSION=v3.13.3
AGE_VERSION=v1.3.2
ESO_VERSION=v0.16.2
GOKEY="$(go env GOVERSION GOARCH | sha256sum | cut -c1-12)"
# moddir M@V: the module's folder in the module cache, downloaded if needed.
moddir() {
	(cd / && go mod download -json "$1") | awk -F'"' '$2 == "Dir" {print $4}'
}
# build_flux VAR NAME VERSION: github.com/fluxcd/NAME at VERSION into the
# cache; VAR is set to the binary's path.
build_flux() {
	local var=$1 name=$2 version=$3 m="github.com/fluxcd/$2" dir out src api t0
	out="$CACHE/$name-$version-$GOKEY"
	if [ ! -x "$out/$name" ]; then
		say "building $name $version into $out (several minutes the first time)"
		t0=$(date +%s)
		src="$(moddir "$m@$version")" && api="$(moddir "$m/api@$version")"
		[ -n "$src" ] && [ -n "$api" ] || die "go mod download $m@$version $m/api@$version failed"
		rm -rf "$out.tmp" && mkdir -p "$out.tmp"
		dir="$out.tmp/src"
		cp -r "$src" "$dir" && chmod -R u+w "$dir"
		rm -rf "$dir/api" && cp -r "$api" "$dir/api" && chmod -R u+w "$dir/api"
		(cd "$dir" && go build -mod=readonly -trimpath -buildvcs=false -ldflags "-s -w" -o "$out.tmp/$name" .) ||
			die "building $name $version failed"
		rm -rf "$dir" "$out" && mv "$out.tmp" "$out"
		say "built $name in $(( $(date +%s) - t0 ))s"
	fi
	printf -v "$var" '%s' "$out/$name"
}
# install_tool VAR NAME PACKAGE@VERSION: go install into the cache; VAR is
# set to the binary's path.
install_tool() {
	local var=$1 name=$2 pkg=$3 out t0
	out="$CACHE/$name-${pkg##*@}-$GOKEY"
	if [ ! -x "$out/$name" ]; then
		say "building $name (${pkg}) into $out"
		t0=$(date +%s)
		rm -rf "$out.tmp" && mkdir -p "$out.tmp"
		GOBIN="$out.tmp" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "$pkg" ||
			die "go install $pkg failed"
		[ -x "$out.tmp/$name" ] || die "go install $pkg made no $name"
		rm -rf "$out" && mv "$out.tmp" "$out"
		say "built $name in $(( $(date +%s) - t0 ))s"
	fi
	printf -v "$var" '%s' "$out/$name"
}
if [ "${E2E_FLUX:-0}" = 1 ]; then
	# kube-scheduler: the control plane's version, in its folder; built on
	# its own when missing, so the other two are not built again.
	if [ ! -x "$BIN/kube-scheduler" ]; then
		say "building kube-scheduler $K8S_VERSION into $BIN"
		t0=$(date +%s)
		rm -rf "$BIN/kube-scheduler.tmp"
		(cd "$CP" && go build -mod=readonly -trimpath \
			-ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
			-o "$BIN/kube-scheduler.tmp" k8s.io/kubernetes/cmd/kube-scheduler) || die "building kube-scheduler failed"
		mv "$BIN/kube-scheduler.tmp" "$BIN/kube-scheduler"
		say "built kube-scheduler in $(( $(date +%s) - t0 ))s"
	fi
	build_flux SOURCE_CONTROLLER source-controller "$FLUX_SOURCE_VERSION"
	build_flux KUSTOMIZE_CONTROLLER kustomize-controller "$FLUX_KUSTOMIZE_VERSION"
	build_flux HELM_CONTROLLER helm-controller "$FLUX_HELM_VERSION"
	install_tool KWOK kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	install_tool E2E_SOPS sops "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
	install_tool E2E_AGE_KEYGEN age-keygen "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
	export E2E_SOPS E2E_AGE_KEYGEN
	FLUX_SOURCE_DIR="$(moddir "github.com/fluxcd/source-controller@$FLUX_SOURCE_VERSION")"
	FLUX_KUSTOMIZE_DIR="$(moddir "github.com/fluxcd/kustomize-controller@$FLUX_KUSTOMIZE_VERSION")"
	FLUX_HELM_DIR="$(moddir "github.com/fluxcd/helm-controller@$FLUX_HELM_VERSION")"
	KWOK_DIR="$(moddir "sigs.k8s.io/kwok@$KWOK_VERSION")"
	ESO_DIR="$(moddir "github.com/external-secrets/external-secrets@$ESO_VERSION")"
	[ -n "$FLUX_SOURCE_DIR" ] && [ -n "$FLUX_KUSTOMIZE_DIR" ] && [ -n "$FLUX_HELM_DIR" ] && [ -n "$KWOK_DIR" ] && [ -n "$ESO_DIR" ] || die "go mod download of the CRD modules failed"
fi

# --- a work folder, free ports, keys ------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gitopsc-e2e.XXXXXX")"
PIDS=()
stop_all() {
	local rc=$?
	# Newest first: the controller manager, then the API server, then etcd.
	for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
		pid="${PIDS[$i]}"
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		for log in etcd kube-apiserver kube-controller-manager kube-scheduler kwok source-controller kustomize-controller helm-controller; do
			[ -s "$WORK/$log.log" ] || continue
			say "last lines of $log.log:"
			tail -n 15 "$WORK/$log.log" >&2
		done
	fi
	if [ "$rc" -ne 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then
		say "work folder kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	say "finished in $(( $(date +%s) - started ))s (exit $rc)"
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback port nothing listens on and this run has not
# handed out yet, below the kernel's ephemeral range: a port from inside
# it can be taken, between the pick and the bind, by one of the run's own
# outgoing connections (a controller once failed to bind its metrics
# port so).
TAKEN=" "
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${EPHEMERAL_LOW:-0}" -gt 12000 ] 2>/dev/null || EPHEMERAL_LOW=32768
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$(( 10000 + RANDOM % (EPHEMERAL_LOW - 10000) ))
		case "$TAKEN" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			TAKEN="$TAKEN$p "
			echo "$p"
			return
		fi
	done
	die "no free loopback port"
}
ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port)

openssl genrsa -out "$WORK/sa.key" 2048 2>/dev/null
TOKEN="$(openssl rand -hex 24)"
echo "$TOKEN,gitopsc-e2e,gitopsc-e2e,system:masters" > "$WORK/tokens.csv"
chmod 600 "$WORK/tokens.csv" "$WORK/sa.key"

# wait_for NAME PID URL [curl args...]: until URL answers 200, or PID exits.
wait_for() {
	local name=$1 pid=$2 url=$3; shift 3
	for _ in $(seq 1 240); do
		kill -0 "$pid" 2>/dev/null || die "$name exited early (see its log below)"
		if curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; then return; fi
		sleep 0.25
	done
	die "$name not ready after 60s at $url"
}

# --- start ----------------------------------------------------------------
"$ETCD" --name e2e --data-dir "$WORK/etcd" \
	--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
	--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
	--quota-backend-bytes 1073741824 \
	>"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
wait_for etcd "${PIDS[-1]}" "http://127.0.0.1:$ETCD_PORT/health"

# With kwok (E2E_FLUX=1), Debian's etcd 3.4 and the watch cache, kwok sees
# new PersistentVolumeClaims some 50 s late: the Flux run turns it off.
APISERVER_FLUX_FLAGS=()
[ "${E2E_FLUX:-0}" != 1 ] || APISERVER_FLUX_FLAGS=(--watch-cache=false)
# The default admission plugins stay on: NamespaceLifecycle, LimitRanger,
# ServiceAccount, PodSecurity, ResourceQuota, ... as on a real cluster.
"$BIN/kube-apiserver" \
	--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
	--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
	--cert-dir="$WORK/certs" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$WORK/sa.key" --service-account-signing-key-file="$WORK/sa.key" \
	--token-auth-file="$WORK/tokens.csv" --authorization-mode=AlwaysAllow \
	--service-cluster-ip-range=10.96.0.0/16 \
	"${APISERVER_FLUX_FLAGS[@]}" \
	>"$WORK/kube-apiserver.log" 2>&1 &
PIDS+=($!)
CA="$WORK/certs/apiserver.crt"
for _ in $(seq 1 80); do [ -s "$CA" ] && break; sleep 0.25; done
wait_for kube-apiserver "${PIDS[-1]}" "https://127.0.0.1:$API_PORT/readyz" --cacert "$CA" -H "Authorization: Bearer $TOKEN"

cat >"$WORK/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$CA"}
users:
- name: e2e
  user: {token: "$TOKEN"}
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
EOF
chmod 600 "$WORK/kubeconfig"

# No scheduler and no kubelet: pods stay Pending, but the ReplicaSet,
# StatefulSet, HPA, namespace and garbage-collector controllers run, so
# pods are created, and admitted or refused, as on a real cluster. The
# controllers that need nodes or a cloud are off.
"$BIN/kube-controller-manager" \
	--kubeconfig="$WORK/kubeconfig" --leader-elect=false --secure-port=0 \
	--service-account-private-key-file="$WORK/sa.key" --root-ca-file="$CA" \
	--controllers='*,-nodeipam,-nodelifecycle,-service,-route,-cloud-node-lifecycle' \
	>"$WORK/kube-controller-manager.log" 2>&1 &
PIDS+=($!)
sleep 1
kill -0 "${PIDS[-1]}" 2>/dev/null || die "kube-controller-manager exited early"
say "control plane $K8S_VERSION up on https://127.0.0.1:$API_PORT after $(( $(date +%s) - started ))s"

# --- E2E_FLUX=1: kube-scheduler, kwok and the Flux controllers ------------
# The CRDs first (source-controller does not start without every one it
# watches), from the controllers' own modules. Then kube-scheduler and kwok, which plays the kubelet of the Nodes
# the test creates (annotation kwok.x-k8s.io/node: fake) with the stages
# of its module: pods become Running and Ready, claims Bound, so Flux's
# wait: true health checks can pass. Then source-controller and
# kustomize-controller as flux bootstrap would run them in flux-system,
# but as processes with the kubeconfig: each with a private TMPDIR.
if [ "${E2E_FLUX:-0}" = 1 ]; then
	API="https://127.0.0.1:$API_PORT"
	kcurl() { curl -fsS --max-time 60 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$@"; }
	t0=$(date +%s)
	crds=()
	for f in "$FLUX_SOURCE_DIR"/config/crd/bases/*.yaml "$FLUX_KUSTOMIZE_DIR"/config/crd/bases/*.yaml "$FLUX_HELM_DIR"/config/crd/bases/*.yaml; do
		[ "$(basename "$f")" != kustomization.yaml ] || continue
		name="$(awk '/^metadata:/ {m=1; next} m && /^  name:/ {print $2; exit}' "$f")"
		[ -n "$name" ] || die "$f: no metadata.name"
		kcurl -o /dev/null -X POST -H 'Content-Type: application/yaml' --data-binary @"$f" \
			"$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions" || die "create CRD $name from $f failed"
		crds+=("$name")
	done
	for name in "${crds[@]}"; do
		for i in $(seq 1 120); do
			kcurl "$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name" 2>/dev/null | tr -d ' \n' |
				grep -q '"type":"Established","status":"True"' && break
			[ "$i" -lt 120 ] || die "CRD $name not established after 30s"
			sleep 0.25
		done
	done
	kcurl -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"flux-system"}}' "$API/api/v1/namespaces" ||
		die "create namespace flux-system failed"
	say "installed ${#crds[@]} CRDs (source-controller $FLUX_SOURCE_VERSION, kustomize-controller $FLUX_KUSTOMIZE_VERSION, helm-controller $FLUX_HELM_VERSION) in $(( $(date +%s) - t0 ))s"
	# The External Secrets Operator's CRDs are a prerequisite of an
	# environment, not of Flux: the test installs them when gitopsc build
	# says an environment needs them (prerequisites_test.go).
	export E2E_ESO_CRDS="$ESO_DIR/config/crds/bases"

	SCHED_PORT=$(free_port)
	"$BIN/kube-scheduler" --kubeconfig="$WORK/kubeconfig" --leader-elect=false \
		--bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$WORK/scheduler-certs" \
		>"$WORK/kube-scheduler.log" 2>&1 &
	PIDS+=($!)
	wait_for kube-scheduler "${PIDS[-1]}" "https://127.0.0.1:$SCHED_PORT/healthz" -k

	# kwok's stages: nodes become Ready, pods Running and Ready (Jobs'
	# pods complete), claims get a volume. The volume stages only act on
	# their own class kwok-volume: here every class is kwok's (the test
	# creates each StorageClass the output names, provisioner
	# kwok.x-k8s.io/volume).
	st="$KWOK_DIR/kustomize/stage"
	for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
		pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete \
		volume/fast/pv-bind volume/fast/pv-delete volume/fast/pvc-provision volume/fast/pvc-delete; do
		[ -s "$st/$f.yaml" ] || die "kwok $KWOK_VERSION has no stage $st/$f.yaml"
		echo "---"
		sed "s/self.spec.storageClassName == 'kwok-volume'/has(self.spec.storageClassName)/" "$st/$f.yaml"
	done >"$WORK/kwok-stages.yaml"
	KWOK_PORT=$(free_port)
	"$KWOK" --kubeconfig="$WORK/kubeconfig" --config="$WORK/kwok-stages.yaml" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--cidr=10.244.0.0/16 --node-ip=127.0.0.1 --server-address="127.0.0.1:$KWOK_PORT" \
		>"$WORK/kwok.log" 2>&1 &
	PIDS+=($!)
	wait_for kwok "${PIDS[-1]}" "http://127.0.0.1:$KWOK_PORT/healthz"

	# start_controller NAME BINARY ARGS...: a Flux controller as a process
	# with the kubeconfig, a private TMPDIR, loopback metrics and health
	# addresses, waited for on its /readyz.
	start_controller() {
		local name=$1 bin=$2 metrics health
		shift 2
		metrics=$(free_port); health=$(free_port)
		mkdir -p "$WORK/flux/$name-tmp"
		RUNTIME_NAMESPACE=flux-system KUBECONFIG="$WORK/kubeconfig" TMPDIR="$WORK/flux/$name-tmp" \
			"$bin" --watch-all-namespaces \
			--metrics-addr="127.0.0.1:$metrics" --health-addr="127.0.0.1:$health" "$@" \
			>"$WORK/$name.log" 2>&1 &
		PIDS+=($!)
		wait_for "$name" "${PIDS[-1]}" "http://127.0.0.1:$health/readyz"
	}
	mkdir -p "$WORK/flux/source-storage"
	SC_STORAGE=$(free_port)
	start_controller source-controller "$SOURCE_CONTROLLER" \
		--storage-path="$WORK/flux/source-storage" --storage-addr="127.0.0.1:$SC_STORAGE" \
		--storage-adv-addr="127.0.0.1:$SC_STORAGE"
	start_controller kustomize-controller "$KUSTOMIZE_CONTROLLER" --requeue-dependency=5s
	start_controller helm-controller "$HELM_CONTROLLER" --requeue-dependency=5s
	say "kube-scheduler, kwok $KWOK_VERSION, source-controller $FLUX_SOURCE_VERSION, kustomize-controller $FLUX_KUSTOMIZE_VERSION and helm-controller $FLUX_HELM_VERSION up after $(( $(date +%s) - started ))s"
fi

# --- the test -------------------------------------------------------------
export E2E_SERVER="https://127.0.0.1:$API_PORT" E2E_TOKEN="$TOKEN" E2E_CA_FILE="$CA"
export E2E_FLUX_CRDS="${E2E_FLUX_CRDS:-$ROOT/testdata/e2e/crds/flux}"
export KUBECONFIG="$WORK/kubeconfig"
if [ $# -gt 0 ]; then
	"$@"
	exit
fi
args=(-tags e2e -count=1 -v -timeout "${E2E_RUN_TIMEOUT:-8m}")
[ -z "${E2E_TEST_RUN:-}" ] || args+=(-run "$E2E_TEST_RUN")
go test "${args[@]}" ./e2e
