"""The Python peers of the benchmarks, from PyPI into a cached virtualenv made on first use."""
import os
import subprocess
import sys
from pathlib import Path


def venv(packages, env_var, default_name):
    """The python of a venv (`$env_var`, else ~/.cache/<default_name>) holding exactly `packages`."""
    v = Path(os.environ.get(env_var, Path.home() / ".cache" / default_name))
    py = v / "bin/python"
    marker = v / "runlens-packages.txt"
    if not (py.exists() and marker.exists() and marker.read_text() == "\n".join(packages)):
        print(f"creating {v} with {' '.join(packages)}...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(v)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
        marker.write_text("\n".join(packages))
    return str(py)
