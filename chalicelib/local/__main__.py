"""python -m chalicelib.local [--demo]: start the local stack (see stack.py)."""

import sys

from .stack import serve

if __name__ == "__main__":
    serve(demo="--demo" in sys.argv[1:])
