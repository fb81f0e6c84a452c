"""The `sockdojo` console script: a repeated `--help` is answered without importing click."""

from __future__ import annotations

import os
import sys

from sockdojo.cli import help_cache


def main() -> None:
    words = help_cache.help_request(sys.argv[1:])
    if words is not None:
        text = help_cache.cached(words)
        if text is not None:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:  # `sockdojo --help | head -1`: quiet, as click is
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
    from sockdojo.cli import main as cli

    if words is not None:
        text = cli.render_help(words)
        if text is not None:
            help_cache.remember(words, text)
    cli.main()
