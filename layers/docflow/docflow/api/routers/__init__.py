"""One powertools Router per resource of the API; `api/app.py` includes them and maps errors.

Each module exposes `build(ports) -> Router`: the routes close over the runtime's ports, so no
module holds state at import time (cold starts are measured)."""
