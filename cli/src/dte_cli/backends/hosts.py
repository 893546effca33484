"""Where scheduler commands run: this host, or a login host through the system `ssh`.

Going through the system ssh keeps the user's ~/.ssh/config, ProxyJump, ControlMaster and
agent working; dte adds only BatchMode (never prompt) and the site's ssh_options.
"""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field

from dte_core.errors import DteError

from dte_cli.backends.values import ssh_target


class HostError(DteError):
    """A scheduler command or the ssh connection failed."""

    exit_code = 1


@dataclass
class Host:
    """Runs argv lists locally (target None) or on `target` over ssh."""

    target: str | None = None
    ssh_options: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.target is not None:
            ssh_target("--remote (or a site profile's `remote`)", self.target)

    @property
    def label(self) -> str:
        return self.target or "this host"

    def argv(self, command: list[str]) -> list[str]:
        if self.target is None:
            return command
        return ["ssh", "-o", "BatchMode=yes", *self.ssh_options, "--", self.target,
                shlex.join(command)]

    def run(self, command: list[str], stdin: bytes | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        """Run `command`; a missing tool or a failed ssh becomes a HostError with the fix."""
        if self.target is None and shutil.which(command[0]) is None:
            raise HostError(
                f"'{command[0]}' is not on PATH: this host is not a SLURM login node (or the "
                f"module that provides SLURM is not loaded). Submit from a login node, or from "
                f"here with --remote user@login-host (through ssh; a site profile can set "
                f"`remote`)."
            )
        try:
            done = subprocess.run(self.argv(command), input=stdin, capture_output=True,
                                  timeout=timeout)
        except FileNotFoundError:
            raise HostError("ssh is not installed on this host; install OpenSSH's client "
                            "(apt-get install openssh-client).") from None
        except subprocess.TimeoutExpired:
            raise HostError(f"`{shlex.join(command)}` on {self.label} did not finish within "
                            f"{timeout:.0f} s.") from None
        if self.target is not None and done.returncode == 255:
            raise HostError(f"ssh to {self.target} failed: "
                            f"{done.stderr.decode(errors='replace').strip()}")
        if check and done.returncode != 0:
            raise HostError(f"`{shlex.join(command)}` failed on {self.label} (exit "
                            f"{done.returncode}): {done.stderr.decode(errors='replace').strip()}")
        return done

    def text(self, command: list[str], check: bool = True) -> str:
        return self.run(command, check=check).stdout.decode(errors="replace")

    def put(self, directory: str, files: dict[str, bytes]) -> None:
        """Create `directory` (remote) and write `files` (name -> content) into it."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        self.run(["sh", "-c", 'mkdir -p "$1" && tar -C "$1" -xf -', "sh", directory],
                 stdin=buffer.getvalue())

    def home_path(self, path: str) -> str:
        """An absolute remote path (relative ones are under the remote $HOME)."""
        if path.startswith("/"):
            return path
        home = self.text(["sh", "-c", 'printf %s "$HOME"']).strip()
        return f"{home}/{path.removeprefix('~/')}"
