"""Loaded by subprocesses that tests start (PYTHONPATH points here): install the network guard."""

import os
import sys

if os.environ.get("SMRUN_NETWORK_GUARD") == "1":
    sys.path.insert(0, os.environ["SMRUN_TESTS_ROOT"])
    from support.network_guard import install

    install()
