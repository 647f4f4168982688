import sys

from components.process.component import run

sys.exit(run())
