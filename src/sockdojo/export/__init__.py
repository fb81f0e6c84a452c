"""Exports of the Sockets module to other platforms (pwn.college's DOJO format).

`challenge_run` and `file_flag` are vendored into what the export writes and stay standard
library only; `pwncollege` (the writer) and `dojo_rules` (the checker of what it writes) run
where sockdojo is installed.
"""
