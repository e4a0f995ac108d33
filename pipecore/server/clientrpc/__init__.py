"""IoTDB's tree-model client protocol on a node: every `IClientRPCService` call of IoTDB's
Session clients (Python `Session`/`SessionPool`/`NumpyTablet`, Java `Session`, JDBC, ...).

`ClientSessionHandler` is the per-connection handler `Node.serve` registers; `decoding`,
`strings`, `writes`, `queries` and `templates` hold what its calls do.
"""

from .errors import ClientCallError
from .handler import ClientSessionHandler

__all__ = ["ClientCallError", "ClientSessionHandler"]
