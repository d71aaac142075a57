"""Offline stand-in for the get-pip bootstrap script that ansible-test runs.

ansible-test runs ``get-pip.py [pip options] pip==X --no-setuptools --no-wheel``
in a fresh virtual environment. This script installs pip with the standard
library's ``ensurepip`` and then lets that pip install the requested packages
from the configured package index.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel", "--no-pip"}


def main():
    """Bootstrap pip, then install the requested packages."""
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    main()
