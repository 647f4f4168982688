import sys

from components.hyperparameter_tuning.component import run

sys.exit(run())
