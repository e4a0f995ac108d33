"""pipecore: data-sync pipes for time series in the model of Apache IoTDB."""

from pipecore_storage.errors import CorruptFileError, PipecoreError

__version__ = "0.1.0"

__all__ = ["CorruptFileError", "PipecoreError", "__version__"]
