"""What the smoke test asks the cluster: whether the services have rolled out, and which pod
and port a Service sends its traffic to."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from sportsfeed_devstack.waiting import WaitTimeout, wait_until


def find_workload(apps: client.AppsV1Api, namespace: str, name: str) -> Any:
    """The Deployment or StatefulSet of that name (the charts choose which per service)."""
    for read in (apps.read_namespaced_deployment, apps.read_namespaced_stateful_set):
        try:
            return read(name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise
    return None


def rollout_state(workload: Any) -> str | None:
    """None once every replica runs the newest spec and is ready (as `kubectl rollout status`),
    otherwise what is still missing."""
    if workload is None:
        return "not deployed"
    spec, status = workload.spec, workload.status
    wanted = spec.replicas if spec.replicas is not None else 1
    if (status.observed_generation or 0) < (workload.metadata.generation or 0):
        return "the controller has not seen the newest spec yet"
    if (status.updated_replicas or 0) < wanted:
        return f"{status.updated_replicas or 0}/{wanted} replicas updated"
    if isinstance(workload, client.V1StatefulSet):
        if status.update_revision and status.current_revision != status.update_revision:
            return "old revision still running"
        ready = status.ready_replicas or 0
    else:
        if (status.replicas or 0) > (status.updated_replicas or 0):
            return "old replicas still terminating"
        ready = status.available_replicas or 0
    return None if ready >= wanted else f"{ready}/{wanted} replicas ready"


def wait_for_rollouts(apps: client.AppsV1Api, namespace: str, names: tuple[str, ...], timeout: float) -> None:
    pending: dict[str, str] = {}

    def rolled_out() -> bool:
        nonlocal pending
        states = {name: rollout_state(find_workload(apps, namespace, name)) for name in names}
        pending = {name: state for name, state in states.items() if state}
        return not pending

    try:
        wait_until(rolled_out, timeout=timeout, interval=2, what=f"the rollouts in namespace {namespace}")
    except WaitTimeout:
        raise AssertionError(f"not rolled out in namespace {namespace} after {timeout:.0f} s: {pending}") from None


def is_ready(pod: client.V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return pod.metadata.deletion_timestamp is None and any(
        condition.type == "Ready" and condition.status == "True" for condition in conditions
    )


def service_backend(core: client.CoreV1Api, namespace: str, service_name: str, port: int) -> tuple[str, int]:
    """A ready pod behind the Service, and the container port its `port` leads to."""
    service = core.read_namespaced_service(service_name, namespace)
    selector = ",".join(f"{key}={value}" for key, value in sorted(service.spec.selector.items()))
    pods = [pod for pod in core.list_namespaced_pod(namespace, label_selector=selector).items if is_ready(pod)]
    if not pods:
        raise AssertionError(f"Service {service_name} has no ready pod ({selector})")
    pod = pods[0]
    (service_port,) = [p for p in service.spec.ports if p.port == port]
    target = service_port.target_port if service_port.target_port is not None else port
    if isinstance(target, str) and not target.isdigit():
        named = {p.name: p.container_port for c in pod.spec.containers for p in (c.ports or []) if p.name}
        target = named[target]
    return pod.metadata.name, int(target)
