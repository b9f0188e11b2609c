"""``python -m valuecompass``: the command line."""

from valuecompass._entry import main

main()
