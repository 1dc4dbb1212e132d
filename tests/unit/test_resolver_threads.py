"""Local mode resolves requests on several server threads, one resolver each (api.app.Resolver):
no thread may see another's request, as powertools' own resolver would let it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from docflow.api.app import Resolver


def _event(path: str, workspace: str) -> dict[str, Any]:
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": {},
            "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "",
                                        "userAgent": ""},
                               "authorizer": {"lambda": {"workspace_id": workspace}}, "requestId": path,
                               "routeKey": "$default", "stage": "$default"},
            "isBase64Encoded": False}


def _resolve_together(resolver_class: type[APIGatewayHttpResolver]) -> dict[str, tuple[str, str]]:
    """Two resolvers on two threads, both inside a handler at once (a barrier holds each until the
    other has started); each handler tells which request and workspace it sees then."""
    both_inside = threading.Barrier(2, timeout=10)
    seen: dict[str, tuple[str, str]] = {}

    def build(name: str) -> APIGatewayHttpResolver:
        app = resolver_class()
        router = APIGatewayHttpRouter()

        @router.get(f"/{name}")
        def probe() -> dict[str, str]:
            both_inside.wait()
            event = router.current_event  # as the API's handlers read the caller (api.context)
            seen[name] = (event.path, event.request_context.authorizer.get_lambda["workspace_id"])
            return {}

        app.include_router(router)
        return app

    apps = {"a": build("a"), "b": build("b")}
    threads = [threading.Thread(target=apps[name].resolve, args=(_event(f"/{name}", f"ws_{name}"), None))
               for name in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return seen


def test_given_two_threads_resolving_at_once_when_handlers_read_their_request_then_each_sees_its_own() -> None:
    assert _resolve_together(Resolver) == {"a": ("/a", "ws_a"), "b": ("/b", "ws_b")}


def test_given_powertools_own_resolver_when_two_threads_resolve_at_once_then_one_reads_the_others_request() -> None:
    """Why Resolver exists: if this starts to fail, powertools keeps the request per instance and
    Resolver can go."""
    seen = _resolve_together(APIGatewayHttpResolver)
    assert seen["a"] == seen["b"], seen


def test_given_a_request_resolved_when_it_is_done_then_the_resolver_keeps_nothing_of_it() -> None:
    app = Resolver()
    app.get("/x")(lambda: {})
    app.resolve(_event("/x", "ws_a"), None)
    assert "current_event" not in vars(app)


def test_given_local_mode_when_a_server_thread_resolves_then_it_uses_the_thread_safe_resolver(
        tmp_path: Path) -> None:
    from docflow.runtime.local import LocalRuntime
    from docflow.runtime.local.server import LocalHttpApp
    from docflow.runtime.settings import LocalSettings

    runtime = LocalRuntime(LocalSettings.from_env(data_dir=tmp_path, step_processes=0))
    try:
        resolvers = []
        app = LocalHttpApp(runtime)
        thread = threading.Thread(target=lambda: resolvers.append(app._resolver()))
        thread.start()
        thread.join(30)
        resolvers.append(app._resolver())
        assert all(isinstance(r, Resolver) for r in resolvers) and resolvers[0] is not resolvers[1]
    finally:
        runtime.close()
