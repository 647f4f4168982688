import sys

from components.train.component import run

sys.exit(run())
