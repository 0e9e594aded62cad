"""python bench/_passthrough.py SCRIPT ARGS...: runs SCRIPT as __main__ under a PEP 523 hook that only calls
_PyEval_EvalFrameDefault (pypaccel._pypaccel._passthrough_hook), so bench/hook_cost.py can tell what any hook costs
from what pypaccel's own adds. It imports the same package as `python -m pypaccel run`."""
import runpy
import sys

import pypaccel._pypaccel as ext

ext._passthrough_hook(True)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
