import sys

from components.ground_truth.component import run

sys.exit(run())
