"""``python -m valuecompass.cli`` (the same as ``python -m valuecompass``)."""

from valuecompass._entry import main

main()
