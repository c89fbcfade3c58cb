"""``python -m tscript``."""

from tscript.cli import main

raise SystemExit(main())
