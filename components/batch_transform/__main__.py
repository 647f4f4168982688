import sys

from components.batch_transform.component import run

sys.exit(run())
