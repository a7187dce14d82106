"""The PoppoBuilder daemon protocol for protoipc (proto/poppo): ``poppo.v1`` holds the generated
messages and service; :func:`default_socket_path` is where the daemon listens by default."""

from __future__ import annotations

import os

__all__ = ["default_socket_path"]


def default_socket_path(home: str | None = None) -> str:
    """The PoppoBuilder daemon's default Unix socket, ``~/.poppobuilder/daemon.sock``
    (PROTOCOLS.md §4). Pass it as ``path=`` to
    :func:`protoipc.unix.create_command_frame_transport`.

    :param home: the home directory; ``~`` expanded by default
    """
    base = home if home is not None else os.path.expanduser("~")
    return os.path.join(base, ".poppobuilder", "daemon.sock")
