"""A program's version, as it prints it when asked (`ffmpeg -version`, `deno --version`)."""

import re
import subprocess

# A program that takes longer to say its version is not one to run downloads with.
VERSION_TIMEOUT_S = 10


def version_of(command: list[str], pattern: str) -> str | None:
    """`pattern`'s first group, matched at the start of `command`'s output; None when the
    program cannot be run, takes too long or says something else. Blocking."""
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(pattern, completed.stdout)
    return match[1] if match else None
