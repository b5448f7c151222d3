"""Settings: ``base`` is driven by the environment with embedded defaults; ``test`` and ``production`` override it."""
