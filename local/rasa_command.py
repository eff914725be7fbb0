"""Runs Rasa's command line with the HTTP API token taken from the environment.

Rasa reads its API token only from `--auth-token`, and a command-line argument is visible to
every local user (`ps`, /proc/PID/cmdline). `python -m local.rasa_command run ...` takes the
token from RASA_API_TOKEN instead and adds `--enable-api --auth-token` to this process's own
argument list (what Rasa's parser reads, not what `ps` shows), then runs Rasa's command line.
Without RASA_API_TOKEN the API stays off.
"""

from __future__ import annotations

import os
import sys
from typing import List, Mapping, Sequence

API_TOKEN_ENV = "RASA_API_TOKEN"  # noqa: S105 (the variable's name, not a token)


def with_api_token(arguments: Sequence[str], environ: Mapping[str, str]) -> List[str]:
    """Rasa's arguments plus the API switches when the environment holds a token.

    Raises:
        SystemExit: the token was given on the command line, where `ps` shows it.
    """
    if any(argument.split("=")[0] == "--auth-token" for argument in arguments):
        raise SystemExit(f"give the API token in {API_TOKEN_ENV}, not as --auth-token "
                         "(other local users can read command lines)")
    token = environ.get(API_TOKEN_ENV, "").strip()
    return [*arguments, "--enable-api", "--auth-token", token] if token else list(arguments)


def main() -> None:
    """`rasa <arguments>` with the token from the environment."""
    sys.argv = ["rasa", *with_api_token(sys.argv[1:], os.environ)]
    from rasa.__main__ import main as rasa_main  # Rasa's CLI takes seconds to import

    rasa_main()


if __name__ == "__main__":
    main()
