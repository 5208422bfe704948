"""``python -m retainwise.cli``: the same as the ``retainwise`` console script."""

import sys

from retainwise.cli import main

sys.exit(main())
