"""``python -m numeric.cli``: the ``superloss`` command, as the console script runs it."""

import sys

from . import main

sys.exit(main())
