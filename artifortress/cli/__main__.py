"""``python -m artifortress.cli``."""

import sys

from artifortress.cli import main

sys.exit(main())
