"""smrun: one asyncio core that drives many Amazon SageMaker jobs."""

__version__ = "0.1.0"
