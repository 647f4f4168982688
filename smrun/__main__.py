"""``python -m smrun``: the same as the ``smrun`` command."""

import sys

from smrun.cli import main

sys.exit(main())
