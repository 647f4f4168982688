import sys

from components.cleanup.component import run

sys.exit(run())
