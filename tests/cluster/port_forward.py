"""A local TCP port for a pod's port, through the Kubernetes API server: the kubernetes client's
own port-forward (one WebSocket per connection), relayed by threads, so that aiohttp connects to
it like to any server. No kubectl involved.
"""

from __future__ import annotations

import select
import socket
import threading
from typing import Any

from kubernetes import client
from kubernetes.stream import portforward


def relay(first: Any, second: Any) -> None:
    """Copy bytes both ways until either side closes (or is closed under us)."""
    peers = {first: second, second: first}
    try:
        while True:
            readable, _, _ = select.select(list(peers), [], [], 1.0)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
    except (OSError, ValueError):  # a closed socket: the other side or close() ended it
        return


class PodPortForward:
    def __init__(self, api_client: client.ApiClient, namespace: str, pod: str, port: int) -> None:
        # Port-forwarding swaps the client's transport while it opens the WebSocket, so this one
        # is never shared with other callers, and its connections are opened one at a time.
        self._core = client.CoreV1Api(api_client)
        self._opening = threading.Lock()
        self.namespace, self.pod, self.port = namespace, pod, port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.local_port: int = self._listener.getsockname()[1]
        self._open: set[Any] = set()
        self.failures: list[str] = []
        self._closing = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True, name=f"forward {pod}:{port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def __enter__(self) -> PodPortForward:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            threading.Thread(target=self._forward, args=(connection,), daemon=True).start()

    def _forward(self, connection: socket.socket) -> None:
        try:
            with self._opening:
                forward = portforward(
                    self._core.connect_get_namespaced_pod_portforward, self.pod, self.namespace, ports=str(self.port)
                )
        except Exception as error:  # the caller sees a closed connection; close() reports why
            self.failures.append(f"port-forward to {self.pod}:{self.port}: {error}")
            connection.close()
            return
        remote = forward.socket(self.port)
        self._open.update((connection, remote))
        try:
            relay(connection, remote)
        finally:
            for sock in (connection, remote):
                self._open.discard(sock)
                sock.close()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        for sock in list(self._open):
            sock.close()
        if self.failures:
            raise AssertionError("; ".join(self.failures))
