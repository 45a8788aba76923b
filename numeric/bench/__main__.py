"""``python -m numeric.bench MODULE:FUNCTION '{"keyword": "arguments"}'``: one benchmark, its JSON result last."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
