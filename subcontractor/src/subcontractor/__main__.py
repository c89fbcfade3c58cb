"""``python -m subcontractor``."""

import sys

from subcontractor.cli import main

sys.exit(main())
