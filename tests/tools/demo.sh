#!/usr/bin/env bash
# Start the local test cluster, run playbooks/site.yml against it, report what
# was installed, and stop the cluster again (also when something fails).
# Extra arguments go to ansible-playbook.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${VENV:-$repo/.venv}
py="$venv/bin/python"
work="$repo/build/demo"
kubeconfig="$work/kubeconfig"
log="$work/cluster.log"
ready_timeout=${DEMO_READY_TIMEOUT:-120}

rm -rf "$work"
mkdir -p "$work/tmp"
# kubernetes.core caches API discovery in $TMPDIR per host:port; a fresh TMPDIR
# keeps an earlier run's discovery out of this one.
export TMPDIR="$work/tmp"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$repo/build/collections}"
export PATH="$venv/bin:$PATH"
# The plays target the implicit localhost; no inventory is needed.
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false

cd "$repo"
"$py" -u -m tests.cluster --kubeconfig "$kubeconfig" >"$log" 2>&1 &
cluster_pid=$!

# shellcheck disable=SC2317  # called by the EXIT trap
stop_cluster() {
  if kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid"
    wait "$cluster_pid" 2>/dev/null || true
  fi
}
trap stop_cluster EXIT

deadline=$((SECONDS + ready_timeout))
until grep -q '^test cluster ready at ' "$log"; do
  if ! kill -0 "$cluster_pid" 2>/dev/null; then
    echo "The test cluster exited before it was ready:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "The test cluster was not ready after ${ready_timeout}s:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.2
done
grep '^test cluster ready at ' "$log"

rc=0
K8S_AUTH_KUBECONFIG="$kubeconfig" ansible-playbook playbooks/site.yml "$@" || rc=$?

echo
"$py" tests/tools/demo_report.py --kubeconfig "$kubeconfig"
if ((rc != 0)); then
  echo "ansible-playbook failed (exit status $rc)" >&2
fi
exit "$rc"
