"""tfhar.experiment's names load lazily and stay what they are on every access."""

import subprocess
import sys


def test_run_is_the_function_on_every_access():
    # A fresh process: the first access imports the module that holds `run`.
    code = ("import tfhar.experiment as e; a = e.run; b = e.run; "
            "from tfhar.experiment import run; print(callable(a), a is b is run)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True"]
