"""Time playbooks/site.yml against slow simulated operators, and count its API requests.

Not a test: run it by hand from the repository root,

    .venv/bin/python -m tests.benchmarks.site_benchmark [--head] [--faults N]

Every simulated operator takes OLM_INSTALL seconds to install and its custom
resources CR_READY seconds more to become ready. Because site.yml creates every
Subscription before waiting on any operator and applies every custom resource
before waiting on any of them, the first run should take about the longest
chain (install + custom resources), not their sum. A second run changes
nothing, waits on nothing and reads each managed object about once; then
REPEATS more no-change runs and as many playbooks of one task on the same
cluster (what any run costs) are taken in turns, and their medians compared.
``--faults N`` then runs site.yml N times on fresh clusters that answer 10% of
the requests with 500/503/429, and N times on clusters that drop 5% of the
connections, and counts the runs that converged with a following no-change run.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections import Counter

from tests.cluster import LocalCluster
from tests.helpers import REPO_ROOT, play_recap, run_playbook

OLM_INSTALL = 20.0
CR_READY = 10.0
# The operators site.yml installs: package, install namespace, and the delay key of their custom resources.
CHAINS = {"OpenShift Serverless (Knative)": ("serverless-operator", "openshift-serverless", "knative"),
          "OpenShift Serverless Logic (SonataFlow)": ("logic-operator-rhel8", "openshift-serverless-logic",
                                                      "sonataflow"),
          "Red Hat Developer Hub (Backstage)": ("rhdh", "rhdh-operator", "rhdh")}
TARGET_FACTOR = 1.10
MAX_REQUESTS_PER_OBJECT = 1.0
MAX_NO_CHANGE_FACTOR = 4.0
# No-change runs and one-task playbooks, taken in turns: the medians are compared (one run of either varies by
# a second or more on a shared machine).
REPEATS = 5
ONE_TASK = [{"name": "One task", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [{"name": "Read the namespaces", "kubernetes.core.k8s_info": {"kind": "Namespace"}}]}]
MANAGED_BY = ("app.kubernetes.io/managed-by", "parodos.orchestrator")


def managed_objects(cluster) -> list[str]:
    """Kind/namespace/name of every object that carries the collection's mark."""
    out = []
    for rt, meta in cluster.store.metadata_index():
        if (meta.get("labels") or {}).get(MANAGED_BY[0]) == MANAGED_BY[1]:
            out.append("/".join(p for p in (rt.kind, meta.get("namespace"), meta["name"]) if p))
    return sorted(out)


def by_verb(cluster) -> Counter:
    return Counter(e.method for e in cluster.requests.entries)


def wait_tasks(stdout: str) -> list[tuple[str, str]]:
    """(task name, first result word) of the tasks whose name starts with "Wait"."""
    out = []
    for match in re.finditer(r"^TASK \[(?:[^\]]+ : )?(Wait[^\]]*)\] \**\n(\w+)", stdout, re.M):
        out.append((match.group(1), match.group(2)))
    return out


def installs(cluster, namespace: str) -> int:
    """Approved InstallPlans in ``namespace``: each one is an install (an automatic upgrade adds one)."""
    return sum(1 for plan in cluster.store.list("operators.coreos.com/v1alpha1", "InstallPlan", namespace)
               if plan["spec"].get("approved"))


def run(cluster, label: str, extra_vars: dict) -> tuple[float, object]:
    cluster.requests.reset()
    start = time.monotonic()
    proc = run_playbook(cluster, REPO_ROOT / "playbooks" / "site.yml", extra_vars, timeout=900)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        print(proc.stdout[-8000:], proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{label} run failed (rc={proc.returncode})")
    return wall, proc


def task_count(stdout: str) -> int:
    """Tasks that ran or were skipped (one TASK header each)."""
    return len(re.findall(r"^TASK \[", stdout, re.M))


def one_task(cluster) -> float:
    """The wall time of a one-task playbook on ``cluster``."""
    start = time.monotonic()
    proc = run_playbook(cluster, ONE_TASK, timeout=120)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("the one-task playbook failed: " + proc.stdout[-2000:])
    return wall


def no_change_walls(cluster, extra_vars: dict) -> tuple[list[float], list[float]]:
    """(site.yml no-change walls, one-task walls), REPEATS of each in turns; every site.yml run changes nothing."""
    site, one = [], []
    for dummy in range(REPEATS):
        wall, proc = run(cluster, "no-change", extra_vars)
        if play_recap(proc.stdout).get("changed") != 0:
            raise SystemExit("a no-change run changed something: " + proc.stdout[-3000:])
        site.append(wall)
        one.append(one_task(cluster))
    return site, one


def fault_runs(count: int) -> tuple[int, int]:
    """(converged, tried) runs of site.yml on clusters with injected errors, then dropped connections."""
    converged = tried = 0
    for faults in [{"error_rate": 0.1, "error_codes": (500, 503, 429)}] * count + [{"drop_rate": 0.05}] * count:
        tried += 1
        cluster = LocalCluster().start()
        try:
            cluster.write_kubeconfig(cluster.tmpdir / "kubeconfig")
            cluster.set_faults(seed=tried, **faults)
            first = run_playbook(cluster, REPO_ROOT / "playbooks" / "site.yml", timeout=900)
            again = run_playbook(cluster, REPO_ROOT / "playbooks" / "site.yml", timeout=900)
            ok = first.returncode == 0 and again.returncode == 0 and play_recap(again.stdout).get("changed") == 0
            print(f"  faults {faults} seed {tried}: {'converged, then changed=0' if ok else 'FAILED'}")
            if not ok:
                print((first.stdout + again.stdout)[-3000:], file=sys.stderr)
            converged += ok
        finally:
            cluster.stop()
    return converged, tried


def fmt_verbs(counts: Counter) -> str:
    return ", ".join(f"{verb} {n}" for verb, n in sorted(counts.items())) + f" (total {sum(counts.values())})"


def main() -> int:
    args = sys.argv[1:]
    head = "--head" in args
    faults = int(args[args.index("--faults") + 1]) if "--faults" in args else 0
    # With the defaults (Automatic approval, startingCSV v1.34.0) OLM installs the
    # Serverless Logic operator twice: v1.34.0, then at once the channel head.
    # --head subscribes to the channel head, so that each operator installs once.
    extra_vars = {"serverless_logic_starting_csv": ""} if head else {}
    delays = {"olm_install": OLM_INSTALL, **{key: CR_READY for _pkg, _ns, key in CHAINS.values()}}
    print(f"Simulated delays: {delays}; extra vars: {extra_vars or 'none (defaults)'}")

    cluster = LocalCluster(delays=delays).start()
    try:
        cluster.write_kubeconfig(cluster.tmpdir / "kubeconfig")
        first_wall, first = run(cluster, "first", extra_vars)
        first_verbs = by_verb(cluster)
        chains = {name: installs(cluster, ns) * OLM_INSTALL + CR_READY for name, (_pkg, ns, _key) in CHAINS.items()}
        second_wall, second = run(cluster, "second", extra_vars)
        second_verbs = by_verb(cluster)
        objects = managed_objects(cluster)
        site_walls, one_walls = no_change_walls(cluster, extra_vars)
    finally:
        cluster.stop()

    longest = max(chains.values())
    for name, seconds in chains.items():
        print(f"  chain {name}: {(seconds - CR_READY) / OLM_INSTALL:.0f} install(s) x {OLM_INSTALL:.0f} s "
              f"+ {CR_READY:.0f} s custom resources = {seconds:.0f} s")
    print(f"  sum of the chains {sum(chains.values()):.0f} s, longest chain {longest:.0f} s, "
          f"target <= {TARGET_FACTOR} x {longest:.0f} = {TARGET_FACTOR * longest:.1f} s")
    per_object = sum(second_verbs.values()) / max(len(objects), 1)
    waits = wait_tasks(second.stdout)
    print()
    print(f"First run:  {first_wall:.1f} s wall, {first_wall / longest:.2f} x the longest chain; "
          f"recap {play_recap(first.stdout)}")
    print(f"  requests: {fmt_verbs(first_verbs)}")
    print(f"Second run: {second_wall:.1f} s wall, {task_count(second.stdout)} tasks; recap {play_recap(second.stdout)}")
    no_change, baseline = statistics.median(site_walls), statistics.median(one_walls)
    print(f"  {REPEATS} more no-change runs: {', '.join(f'{w:.1f}' for w in site_walls)} s (median {no_change:.1f} s); "
          f"one-task playbooks: {', '.join(f'{w:.1f}' for w in one_walls)} s (median {baseline:.1f} s)")
    print(f"  no-change run = {no_change / baseline:.2f} x a one-task playbook, medians "
          f"(target <= {MAX_NO_CHANGE_FACTOR:.0f} x); the quickest of each: {min(site_walls) / min(one_walls):.2f} x")
    print(f"  requests: {fmt_verbs(second_verbs)}")
    print(f"  managed objects: {len(objects)}; requests per managed object: {per_object:.2f}")
    print("  wait tasks: " + "; ".join(f"{name} -> {result}" for name, result in waits))
    first_ok = first_wall <= TARGET_FACTOR * longest
    second_ok = per_object <= MAX_REQUESTS_PER_OBJECT
    quick_ok = no_change <= MAX_NO_CHANGE_FACTOR * baseline
    print()
    print(f"First run within {TARGET_FACTOR} x the longest chain: {'yes' if first_ok else 'NO'}")
    print(f"Second run at most {MAX_REQUESTS_PER_OBJECT:.0f} request per managed object: "
          f"{'yes' if second_ok else 'NO'}")
    print(f"No-change run within {MAX_NO_CHANGE_FACTOR:.0f} x a one-task playbook: {'yes' if quick_ok else 'NO'}")
    faults_ok = True
    if faults:
        print()
        converged, tried = fault_runs(faults)
        faults_ok = converged == tried
        print(f"Runs with injected faults that converged: {converged} of {tried}")
    return 0 if first_ok and second_ok and quick_ok and faults_ok else 1


if __name__ == "__main__":
    sys.exit(main())
