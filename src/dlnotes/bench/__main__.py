"""Entry point of ``python -m dlnotes.bench``."""

import sys

from dlnotes.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
