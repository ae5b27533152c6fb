"""The training / inference engine: sample data, hyper-parameters, data layout, models, the loop, prediction.

Nothing here imports torch at import time; `trainer`, `models`, `predict`, `data` and `distributed` do,
so import them where they are used.
"""

from desktop_app.ml.errors import TrainingError

__all__ = ["TrainingError"]
