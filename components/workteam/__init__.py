"""SageMaker - Private Workforce: drop-in for the v1 component (see component.py)."""
