"""The `sockdojo` console script: a repeated `--help` is answered without importing click."""

from __future__ import annotations

import os
import sys

from sockdojo.cli import help_cache


def main() -> None:
    words = help_cache.help_request(sys.argv[1:])
    if words is not None and sys.stdout is not None:
        text = help_cache.cached(words)
        if text is not None and _printed(text):
            return
    from sockdojo.cli import main as cli

    try:
        cli.main()
    except SystemExit as end:
        # Kept only once click has shown this help and ended well: a refused option (a bad
        # --account, say) must not turn into help the next time.
        if words is not None and end.code in (0, None):
            text = cli.render_help(words)
            if text is not None:
                help_cache.remember(words, text)
        raise


def _printed(text: str) -> bool:
    """Print the kept text as click would; False leaves the write to click (it reports it)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `sockdojo --help | head -1`: quiet, and status 1, as click
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError:
        return False
    return True
