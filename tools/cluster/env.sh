# Shared settings for tools/cluster/{up,down,smoke}; sourced, not run.
cache="${SPORTSFEED_CACHE_DIR:-$HOME/.cache/sportsfeed}"
bin="$cache/bin"
cnibin="$cache/cni/bin"
state="${SPORTSFEED_CLUSTER_STATE:-$HOME/.local/state/sportsfeed/cluster}"
pki="$state/pki"
logs="$state/logs"
pids="$state/pids"
export KUBECONFIG="$state/admin.kubeconfig"
CTR_SOCK="$state/run/containerd.sock"

# Addresses and ports (all loopback except the node IP the kubelet registers; pod and service
# ranges only ever live on this machine's own bridge).
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
APISERVER_PORT=${APISERVER_PORT:-16443}
POD_SUBNET=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/24
SERVICE_IP=10.96.0.1           # the "kubernetes" Service's ClusterIP
DNS_IP=10.96.0.10              # kube-dns (CoreDNS), the kubelet's clusterDNS
CLUSTER_DOMAIN=cluster.local
COREDNS_IMAGE=sportsfeed.local/coredns:1.15.0
BRIDGE=sfcni0
SANDBOX_IMAGE=sportsfeed.local/pause:1
NODE_NAME=$(hostname | tr '[:upper:]' '[:lower:]')
NODE_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$NODE_IP" ] || NODE_IP=$(hostname -I 2>/dev/null | awk '{print $1}')

kubectl() { "$bin/kubectl" "$@"; }
# (containerd prints a cgroup v1 deprecation warning with every ctr call on this kernel: dropped)
ctr() { "$bin/ctr" --address "$CTR_SOCK" "$@" 2> >(grep -v "DEPRECATION: The support for cgroup v1" >&2); }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND once a second until it succeeds or the
# deadline passes (then prints the description and returns 1).
wait_for() {
  local what=$1 limit=$2 start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= limit )); then echo "    timed out after ${limit}s waiting for: $what" >&2; return 1; fi
    sleep 1
  done
  echo "    $what: ok after $(( SECONDS - start ))s"
}
