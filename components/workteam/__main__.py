import sys

from components.workteam.component import run

sys.exit(run())
