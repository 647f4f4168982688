import sys

from components.model.component import run

sys.exit(run())
