"""SageMaker - Cleanup: stops what a pipeline run left running (see component.py)."""
