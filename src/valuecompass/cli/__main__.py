"""``python -m valuecompass.cli``."""

from valuecompass.cli import main

main()
