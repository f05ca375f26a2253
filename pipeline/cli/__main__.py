"""``python -m pipeline.cli``: the ``hemicycle`` console script."""

import sys

from pipeline.cli import main

sys.exit(main())
