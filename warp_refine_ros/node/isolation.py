"""A network namespace with only loopback for every process that starts a DDS participant in tests
and benchmarks, so no DDS packet ever leaves the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from warp_refine_ros.resources import share_path

DOMAIN_ID = "42"
ENVIRONMENT = {
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",  # and the namespace has nothing else to reach
    "ROS_DOMAIN_ID": DOMAIN_ID,
    "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
}
_LOOPBACK_UP = 'ip link set lo up && exec "$@"'


def namespace_problem() -> str | None:
    """Why no loopback-only network namespace can be made here; None when one can."""
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        return f"needs {' and '.join(missing)} (util-linux, iproute2) to isolate DDS in a network namespace"
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit {done.returncode}"
        return f"cannot make a network namespace ({reason}); run as root or with CAP_SYS_ADMIN"
    return None


def isolated(command: Sequence[str]) -> list[str]:
    """``command`` run in a new network namespace whose only interface is loopback, brought up."""
    return ["unshare", "-n", "sh", "-c", _LOOPBACK_UP, "isolated", *command]


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (the current environment by default) with discovery kept on this host, and Fast DDS
    set up for full-size camera images (config/fastdds_large_images.xml)."""
    profile = str(share_path("config/fastdds_large_images.xml"))
    return {**(os.environ if base is None else base), **ENVIRONMENT, "FASTDDS_DEFAULT_PROFILES_FILE": profile}


def isolation_problem() -> str | None:
    """Why this process may not start a DDS participant (it sees more than loopback, or discovery is not
    kept on this host); None when it may."""
    lines = Path("/proc/self/net/dev").read_text(encoding="ascii").splitlines()[2:]  # this netns's
    interfaces = sorted(line.split(":", 1)[0].strip() for line in lines)
    if interfaces != ["lo"]:
        return (
            f"network interfaces {', '.join(interfaces)} are visible; run this only inside a loopback-only "
            "network namespace (unshare -n), so DDS stays on this machine"
        )
    for name, value in ENVIRONMENT.items():
        if os.environ.get(name) != value:
            return f"{name} must be {value!r} here, got {os.environ.get(name)!r}"
    return None


def check_isolated() -> None:
    """Refuse to go on unless this process sees loopback alone: DDS must not reach the host's network."""
    if (problem := isolation_problem()) is not None:
        raise SystemExit(f"error: {problem}")
