"""`python -m posko.cli <command>`: the `posko` command, as services are started (posko/services.py)."""

from posko.cli import main

main()
