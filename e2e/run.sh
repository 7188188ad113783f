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
if [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/kube-controller-manager" ]; then
	say "building kube-apiserver and kube-controller-manager $K8S_VERSION into $BIN (several minutes the first time)"
	t0=$(date +%s)
	rm -rf "$BIN.tmp" && mkdir -p "$BIN.tmp"
	minor="${K8S_VERSION#v}"; major="${minor%%.*}"; minor="${minor#*.}"; minor="${minor%%.*}"
	v=k8s.io/component-base/version
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
		for log in etcd kube-apiserver kube-controller-manager; do
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
# handed out yet.
TAKEN=" "
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$(( 20000 + RANDOM % 30000 ))
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
