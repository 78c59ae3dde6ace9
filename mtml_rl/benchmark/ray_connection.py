"""Connecting a driver to Ray: a local Ray, or a cluster by address, with its token.

An explicit address is checked before ``ray.init`` sees it, because ``ray.init`` retries what
it cannot use: an address that accepts no connection (for minutes), and a cluster with token
authentication when this driver has no token (about 20 s). Both fail here at once with one
message that says what to do; a wrong token is still found out by ``ray.init``'s retries.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mtml_rl.errors import ConfigError

PROBE_TIMEOUT_S = 5.0
"""Seconds to wait for a Ray address to accept a connection (or answer) before giving up."""


def import_ray() -> Any:
    """The ``ray`` module, or a ``ConfigError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'mtml-rl[ray]'") from None
    return ray


def probe_address(address: str) -> None:
    """Fail fast (``ConfigError``) if ``host:port`` (or ``ray://host:port``) accepts no connection.

    ``ray.init`` itself retries an unreachable address for minutes.
    """
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} is not host:port, ray://host:port or auto; "
            "`ray status` on the head node shows it"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` and pass the address it prints, or use --address auto on a cluster node"
        ) from None


AUTH_MODE_VAR = "RAY_AUTH_MODE"
"""Ray's switch of token authentication (``token`` or ``disabled``; Ray 2.52 and later)."""
GIVE_TOKEN = (
    "give this driver the cluster's token: `ray get-auth-token` on the head node prints it; set "
    "RAY_AUTH_TOKEN to it (or RAY_AUTH_TOKEN_PATH to a file holding it, or copy it to "
    "~/.ray/auth_token)"
)
TOKEN_HINT = (
    f"if the cluster uses token authentication (`ray start` turns it on when a token exists), {GIVE_TOKEN}"
)


def ray_token_available() -> bool:
    """Whether a Ray authentication token is at hand: ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``
    or the default token file ``~/.ray/auth_token``, in Ray's order."""
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").is_file()


def use_ray_token() -> bool:
    """Turn on Ray's token authentication for this driver when a token is at hand and
    ``RAY_AUTH_MODE`` is unset; returns whether token authentication is on.

    Ray does this itself for ``address="auto"`` only; a driver given an explicit address would
    otherwise send no token, and a cluster with authentication on refuses it. Sending a token
    to a cluster without authentication is harmless.
    """
    mode = os.environ.get(AUTH_MODE_VAR)
    if mode is not None:
        return mode.strip().lower() == "token"
    if not ray_token_available():
        return False
    os.environ[AUTH_MODE_VAR] = "token"
    if "ray" in sys.modules:  # an imported Ray read its configuration already: refresh it
        try:
            importlib.import_module("ray._raylet").Config.initialize("")
        except (ImportError, AttributeError):
            pass
    return True


def refuse_if_a_token_is_required(address: str) -> None:
    """Fail at once (``ConfigError``) if the cluster at ``host:port`` uses token authentication;
    for a driver that sends no token (:func:`use_ray_token` is off).

    One gRPC call to the cluster's GCS (its id), without a token: a cluster with token
    authentication answers ``UNAUTHENTICATED``, where ``ray.init`` would retry for about 20 s
    and then report a failed connection. Any other answer, or no answer, is left to
    ``ray.init``; so is a ``ray://`` (Ray Client) address.
    """
    if address.startswith("ray://"):
        return
    try:
        import grpc
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
    except ImportError:
        return
    with grpc.insecure_channel(address) as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        try:
            stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=PROBE_TIMEOUT_S)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise ConfigError(
                    f"the Ray cluster at {address} uses token authentication and this driver has "
                    f"no token; {GIVE_TOKEN}"
                ) from None


def connect_ray(address: str | None, num_cpus: int | None) -> bool:
    """Connect to (or start) Ray; returns whether this call initialized it (and must shut it down).

    An already initialized Ray in this process is reused. For an explicit address, the
    address is probed first (an unreachable one fails at once), a Ray token at hand is used
    (:func:`use_ray_token`), and without one a cluster that requires one fails at once
    (:func:`refuse_if_a_token_is_required`).
    """
    explicit = address not in (None, "auto", "local")
    if explicit:
        probe_address(str(address))
        if not use_ray_token():
            refuse_if_a_token_is_required(str(address))
    ray = import_ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
    if address in (None, "local"):
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except Exception as exc:
        where = f"at {address}" if address else "locally"
        hint = f"; {TOKEN_HINT}" if address not in (None, "local") else ""
        raise ConfigError(
            f"cannot start or reach Ray {where}: {type(exc).__name__}: {_first_line(exc)}{hint}"
        ) from None
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


@contextmanager
def ray_session(address: str | None, num_cpus: int | None) -> Iterator[None]:
    """Be connected to Ray inside the block (see :func:`connect_ray`); a Ray this call started
    is shut down at the end, one already initialized is left running."""
    owned = connect_ray(address, num_cpus)
    try:
        yield
    finally:
        if owned:
            import_ray().shutdown()
