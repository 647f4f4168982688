import sys

from components.deploy.component import run

sys.exit(run())
