"""``python -m valuecompass.cli`` (the same as ``python -m valuecompass``)."""

import runpy

runpy.run_module("valuecompass", run_name="__main__", alter_sys=True)
