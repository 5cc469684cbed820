"""``python -m opfilter`` is the ``opfilter`` console script."""

import sys

from .cli import main

sys.exit(main())
