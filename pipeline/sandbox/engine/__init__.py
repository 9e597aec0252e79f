"""The shared sandbox engine: what every fake platform API does the same way, written once.

A fake keeps only its wire format (URLs, field names, envelopes, error bodies, paging tokens as the
real API shapes them). Everything else comes from here:

- :mod:`.rollups`: ``AccountViews`` (an account's campaigns / ad groups / ads with their positions),
  ``day_block`` (an account-day's delivering ads from the simulator as integer metrics, money in
  cents, per day or per local hour) and ``rollup`` (sum day blocks per time bucket to a level,
  dropping objects that did not deliver; a ``derive`` hook adds per-ad platform metrics first);
- :mod:`.paging`: ``ResultCache`` + ``answer_stamp`` (compute a report once, page it from the
  cache), ``offset_window`` / ``numbered_page`` (the slice a page serves);
- :mod:`.params`: query / form / JSON body parsing raising ``ParamError(name, problem)`` for the
  router to word;
- :mod:`.faults`: ``take_request_fault`` (timeouts and corrupted JSON handled, the rest handed to the
  router to answer in its error shape), ``gateway_page`` (a proxy's HTML 5xx), ``JobBook`` (async
  report jobs that take an async fault when created);
- :mod:`.limits`: ``SlidingWindow`` (calls per key in the last N seconds, for usage headers and 429s);
- ``RouterState`` / ``make_router_factory`` (below): the state every router keeps and the module-level
  ``router_factory`` of :class:`pipeline.sandbox.router_protocol.SandboxRouter`.

``pipeline.sandbox.responses`` has ``json_response`` and ``corrupt_json``; ``pipeline.sandbox.oauth``
the refresh-token grant; ``pipeline.sandbox.duplicates`` wraps every router with ``duplicate_page``.

How a new router uses it (a sketch; ``tiktok_api`` is a small real one)::

    PLATFORM = "example"                               # the registry's name; mounted at /example
    FAULT_KINDS = COMMON_REQUEST_FAULTS | {"bad_token"}

    class ExampleApi(RouterState):                     # world, faults, tokens, settings, views, cache
        platform = PLATFORM
        settings_class = ExampleSettings               # a dataclass of the fake's knobs

        def routes(self) -> list[BaseRoute]:
            return [Route("/v1/{rest:path}", self.handle, methods=["GET", "POST"])]

        async def handle(self, request):
            path = f"/v1/{request.path_params['rest']}"  # fault paths are relative to the router
            fault = await take_request_fault(self.faults, PLATFORM, path, FAULT_KINDS)
            if fault.answer is not None:
                return my_error_body(fault.answer.kind)  # the platform's own shape
            ...  # authenticate, parse with params.*, answer
            view = self.views.get(account_id)
            result = self.cache.get((query, *answer_stamp(self.world)), lambda: rollup(
                view, level, [[day_block(self.world, PLATFORM, view.account, d) for d in days(a, b)]]))
            return fault.finish(render_page(result))

    router_factory = make_router_factory(ExampleApi)  # the SandboxRouter protocol's factory

Then one registry line in ``pipeline.platforms`` mounts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from pipeline.sandbox.engine.faults import (
    COMMON_REQUEST_FAULTS,
    Job,
    JobBook,
    RequestFault,
    gateway_page,
    take_request_fault,
)
from pipeline.sandbox.engine.limits import SlidingWindow
from pipeline.sandbox.engine.paging import ResultCache, Window, answer_stamp, numbered_page, offset_window
from pipeline.sandbox.engine.rollups import (
    AccountView,
    AccountViews,
    DayBlock,
    Rollup,
    day_block,
    days,
    rollup,
)
from pipeline.sandbox.router_protocol import RouterFactory
from pipeline.sandbox.simulator import World

if TYPE_CHECKING:
    from pipeline.sandbox.server import FaultInjector


class RouterState:
    """The state every router keeps: world, faults, tokens, its settings, account views, a result cache."""

    platform: ClassVar[str]
    settings_class: ClassVar[type]

    def __init__(
        self,
        world: World,
        faults: FaultInjector,
        tokens: Mapping[str, Iterable[str]],
        settings: Any = None,
    ) -> None:
        self.world = world
        self.faults = faults
        self.tokens = tokens  # the server's (mutable) sets: revoking a token there takes effect here
        self.settings = settings if settings is not None else self.settings_class()
        self.views = AccountViews(world, self.platform)
        self.cache: ResultCache[Any] = ResultCache()

    def valid_tokens(self) -> set[str]:
        return set(self.tokens.get(self.platform, ()))

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def app(self) -> Starlette:
        return Starlette(routes=self.routes())


def make_router_factory(api_class: type[RouterState]) -> RouterFactory:
    """The module-level ``router_factory`` of the router protocol: the app, its state as ``state.api``."""

    def router_factory(
        world: World,
        faults: FaultInjector,
        tokens: Mapping[str, Iterable[str]],
        settings: Any = None,
    ) -> Starlette:
        api = api_class(world, faults, tokens, settings)
        app = api.app()
        app.state.api = api  # tests reach the router's state (runs, settings, customers) through the app
        return app

    router_factory.__doc__ = (
        f"The {api_class.platform} router, mounted by the sandbox server at /{api_class.platform}."
    )
    return router_factory


__all__ = [
    "COMMON_REQUEST_FAULTS",
    "AccountView",
    "AccountViews",
    "DayBlock",
    "Job",
    "JobBook",
    "RequestFault",
    "ResultCache",
    "Rollup",
    "RouterState",
    "SlidingWindow",
    "Window",
    "answer_stamp",
    "day_block",
    "days",
    "gateway_page",
    "make_router_factory",
    "numbered_page",
    "offset_window",
    "rollup",
    "take_request_fault",
]
