"""`posko intake`: the citizen report intake API (Litestar on uvicorn).

Channels (web form, SMS gateway, WhatsApp bot, LAPOR! forwarding) POST reports with their own
channel credential (`posko credential issue --role channel`). An accepted report is one record on
posko.report_status (its first status, diterima, carrying the report), committed in a Kafka
transaction before the 202 with its tracking number is sent; the relay then forwards the report
to posko.raw.citizen_report. Officers, supervisors and admins move reports along the
LAPOR!-style workflow with PATCH; every move is a record on posko.report_status.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from litestar import HttpMethod, Litestar, Request, Response, get, patch, post, route
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.openapi.spec.server import Server
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from connectors.intake.body_schema import StrictBodySchema
from connectors.intake.ledger import LedgerBehind, ReportLedger
from connectors.intake.models import (
    Accepted,
    Health,
    HealthStatus,
    Problem,
    ReportSubmission,
    ReportView,
    StatusUpdate,
)
from connectors.intake.rate_limit import RateLimiter, retry_after_header
from connectors.intake.relay import relay_reports
from connectors.intake.server import BodyDeadline, guarded_protocol
from connectors.intake.tracking import new_tracking_number, normalise_tracking_number
from connectors.intake.writer import KafkaUnavailable, Record, TransactionalWriter
from posko.credentials import CredentialRing, with_article
from posko.errors import PoskoError
from posko.settings import Settings
from schemas.events import (
    REPORT_STATUS_ORDER,
    CitizenReportEvent,
    ReportStatus,
    ReportStatusChange,
    StatusStep,
    new_event_id,
    occurred_at_problem,
    utc_now,
)
from schemas.identity import Principal, Role
from schemas.regions import region_at
from schemas.topics import REPORT_STATUS

MAX_IDEMPOTENCY_KEY = 200
REPORT_PATH = "/v1/reports/{tracking:str}"
RETRY_AFTER_KAFKA_S = 5
SECURITY: list[SecurityRequirement] = [{"apiKey": []}]
# Who moves a report's status: the room's people.
STATUS_MOVERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.ADMIN})
log = logging.getLogger("posko.intake")
_encoder = msgspec.json.Encoder()


class ApiProblem(HTTPException, PoskoError):
    """A request the API refuses, with a code, the field at fault and what to do."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.problem = Problem(status, error, message, field)


class IntakeRequest(Request[Any, Any, Any]):
    """Litestar's request, where every body that cannot be decoded as JSON is a 400."""

    async def json(self) -> Any:
        """The decoded JSON body."""
        # Litestar's decode_json (litestar/serialization/msgspec_hooks.py, 2.25) turns only
        # msgspec.DecodeError into a 400; msgspec raises RecursionError for JSON nested about
        # 1,000 deep and UnicodeDecodeError for invalid UTF-8, which Litestar answered with 500.
        try:
            return await super().json()
        except RecursionError as exc:
            raise ApiProblem(400, "malformed_json", "the body is JSON nested too deeply: send one flat "
                             "object with the fields documented at /schema/openapi.json") from exc
        except UnicodeDecodeError as exc:
            raise ApiProblem(400, "malformed_json", f"the body is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start}): send JSON encoded as UTF-8") from exc


class Intake:
    """The running service's parts: credentials, limits, the ledger of reports and the Kafka writer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.credentials = CredentialRing(Path(settings.home))
        self.limits = RateLimiter()
        self.ledger = ReportLedger(shared=settings.intake_instances > 1)
        # One transactional id per slot: a restarted intake fences its killed self at once (so
        # its open transaction is aborted), and two intakes given one slot refuse each other loudly.
        self.writer = TransactionalWriter(settings, f"posko-intake-{settings.intake_instance}",
                                          visible=self.ledger.visible)
        self.pending: dict[str, asyncio.Future[str]] = {}  # idempotency token -> tracking
        self.issuing: set[str] = set()  # tracking numbers being committed
        self.locks: dict[str, asyncio.Lock] = {}
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start following posko.report_status and the transaction loop."""
        self.stop.clear()
        self.tasks = [asyncio.create_task(self.ledger.follow(self.settings, self.stop)),
                      asyncio.create_task(self.writer.run(self.stop)),
                      asyncio.create_task(relay_reports(self.settings, self.stop))]

    async def close(self) -> None:
        """Stop them and wait for them."""
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def ready(self) -> None:
        """Refuse with 503 until every earlier report's status is loaded."""
        if not self.ledger.loaded.is_set():
            raise ApiProblem(503, "starting", "the intake is still loading report statuses from Kafka; "
                             "retry in a few seconds", headers={"Retry-After": str(RETRY_AFTER_KAFKA_S)})

    async def report(self, tracking: str) -> ReportStatusChange:
        """The latest status of a report, or 404."""
        number = normalise_tracking_number(tracking)
        if number is None:
            raise ApiProblem(404, "unknown_tracking_number",
                             f"{tracking!r} is not a tracking number: they look like JMB-2611-7Q4KM")
        self.ready()
        if number not in self.ledger.reports:  # perhaps accepted by another intake a moment ago
            await self.catch_up(f"report {number} could not be looked up")
        if number not in self.ledger.reports:
            raise ApiProblem(404, "unknown_tracking_number",
                             f"no report has tracking number {number}: check the number on the receipt")
        return self.ledger.reports[number]

    async def catch_up(self, failed: str, stored: bool = False) -> None:
        """Read what every intake committed so far, or answer 503 saying what `failed`."""
        try:
            await self.ledger.catch_up()
        except LedgerBehind as exc:
            saved = "nothing was saved, " if stored else ""
            raise ApiProblem(503, "kafka_unavailable", f"{failed}: the message service did not answer "
                             f"in time; {saved}send it again in {RETRY_AFTER_KAFKA_S} seconds (Retry-After)",
                             headers={"Retry-After": str(RETRY_AFTER_KAFKA_S)}) from exc

    async def commit(self, records: Sequence[Record], what: str) -> None:
        """Commit records to Kafka or answer 503 saying that `what` was not stored."""
        try:
            await self.writer.write(records)
        except KafkaUnavailable as exc:
            happened = "did not answer in time" if exc.timed_out else "is unavailable"
            raise ApiProblem(503, "kafka_unavailable",
                             f"{what} could not be stored: the message service {happened}; nothing was "
                             f"saved, send it again in {RETRY_AFTER_KAFKA_S} seconds (Retry-After)",
                             headers={"Retry-After": str(RETRY_AFTER_KAFKA_S)}) from exc


def _intake(state: State) -> Intake:
    found: Intake = state.intake
    return found


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.scope["state"]["principal"]
    return principal


# --- Checks before the body is read ----------------------------------------------------------
# Each runs as its handler's before_request hook (Litestar runs it before the handler's
# parameters and body are parsed), not as a guard: Litestar 2 copies the route handler for
# every guard of every request (handlers/base.py, authorize_connection), 5% of the intake's CPU
# in bench intake. And the principal goes into the scope's state dict as it is: connection.state
# builds a State (with an RLock) on every access, another 3%.


def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    header = connection.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else connection.headers.get(
        "x-api-key", "")
    if not presented:
        raise ApiProblem(401, "missing_api_key", "send your channel's credential as "
                         "'Authorization: Bearer pk_…' (credentials come from: posko credential issue)",
                         headers={"WWW-Authenticate": "Bearer"})
    checked = _intake(connection.app.state).credentials.check(presented)
    if checked.principal is None:
        raise ApiProblem(401, "invalid_api_key", checked.problem, headers={"WWW-Authenticate": "Bearer"})
    connection.scope["state"]["principal"] = checked.principal
    return checked.principal


async def any_key(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Any valid credential may read a report's status."""
    _authenticate(connection)


async def channel_key(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Only channel credentials submit reports, each within its rate."""
    principal = _authenticate(connection)
    if principal.role is not Role.CHANNEL:
        raise ApiProblem(403, "wrong_role", f"credential {principal.name!r} is "
                         f"{with_article(principal.role)} credential: reports are submitted with a "
                         "channel credential (posko credential issue --role channel --channel …)")
    intake = _intake(connection.app.state)
    # Each of the intakes behind one address admits its share of the rate (docs/intake.md).
    share = -(-principal.rate_per_minute // intake.settings.intake_instances)
    wait = intake.limits.admit(principal.id, share)
    if wait:
        raise ApiProblem(429, "rate_limited", f"channel credential {principal.name!r} may send "
                         f"{principal.rate_per_minute} reports per minute; retry after the time in "
                         "Retry-After",
                         headers={"Retry-After": retry_after_header(wait)})


async def officer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Only officers, supervisors and admins move a report's status."""
    principal = _authenticate(connection)
    if principal.role not in STATUS_MOVERS:
        raise ApiProblem(403, "wrong_role", f"credential {principal.name!r} is "
                         f"{with_article(principal.role)} credential: only officers, supervisors and "
                         "admins change a report's status")


async def json_body(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """The body must be JSON."""
    media_type = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiProblem(415, "unsupported_media_type",
                         f"the body must be JSON sent with 'Content-Type: application/json', "
                         f"not {media_type or 'no content type'!r}")


async def channel_json(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A channel's credential and a JSON body."""
    await channel_key(connection)
    await json_body(connection)


async def officer_json(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """An officer's, supervisor's or admin's credential and a JSON body."""
    await officer_key(connection)
    await json_body(connection)


# --- Handlers --------------------------------------------------------------------------------

def _problem_responses(*statuses: int) -> dict[int, Any]:
    descriptions = {400: "invalid report: `field` names the field, `message` the reason",
                    401: "missing, unknown, expired or revoked credential",
                    403: "the credential's role may not do this",
                    404: "no report with this tracking number",
                    408: "the body came too slowly; send it at once", 409: "the status cannot move that way",
                    413: "body too large", 415: "the body is not JSON",
                    422: "Idempotency-Key reused for a different report",
                    429: "the channel is over its rate; see Retry-After",
                    500: "a fault of the intake's own, logged; send it again later",
                    503: "Kafka is unavailable, the service is starting or at its connection limit; "
                         "nothing was stored; see Retry-After"}
    return {s: ResponseSpec(data_container=Problem, description=descriptions[s], generate_examples=False)
            for s in statuses}


@post("/v1/reports", before_request=channel_json, status_code=202, security=SECURITY,
      responses=_problem_responses(400, 401, 403, 408, 413, 415, 422, 429, 500, 503), tags=["reports"],
      summary="Submit a citizen report", description=(
          "Validates the report with the CitizenReport schema, commits it to Kafka and answers "
          "with a tracking number. A repeated `Idempotency-Key` (per channel key) returns the "
          "first tracking number and stores nothing new."))
async def submit_report(
    request: Request[Any, Any, Any], data: ReportSubmission,
    idempotency_key: str | None = Parameter(header="Idempotency-Key", default=None, required=False,
                                            max_length=MAX_IDEMPOTENCY_KEY),
) -> Response[Accepted]:
    """Accept a report once it is on Kafka."""
    intake = _intake(request.app.state)
    key = _principal(request)  # a channel's credential
    if data.channel != key.channel:
        raise ApiProblem(400, "invalid_report", f"channel '{data.channel}' does not match credential "
                         f"{key.name!r}, which is for channel '{key.channel}'", "channel")
    region = data.region or (region_at(data.location.lat, data.location.lon) if data.location else None)
    if region is None:
        where, field = (("location is outside Jambi", "location") if data.location
                        else ("neither region nor location is given", "region"))
        raise ApiProblem(400, "invalid_report", f"cannot place the report in a kabupaten/kota of Jambi: "
                         f"{where}; give region (e.g. 15.71) or a location inside Jambi", field)
    if data.occurred_at is not None and (problem := occurred_at_problem(data.occurred_at)):
        raise ApiProblem(400, "invalid_report", problem, "occurred_at")
    intake.ready()
    # The report as decoded, not the bytes: a retry that differs in whitespace or key order is
    # the same report.
    digest = hashlib.sha256(_encoder.encode(data)).hexdigest()
    token = f"{key.id}:{idempotency_key}" if idempotency_key else None
    if token is None:
        return _accepted(await _store(intake, key, data, region, None, digest), replayed=False)
    if tracking := intake.ledger.submissions.get(token):
        return _replayed(intake, tracking, digest, await request.body())
    if (first := intake.pending.get(token)) is not None:
        return _replayed(intake, await asyncio.shield(first), digest, await request.body())
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    intake.pending[token] = future
    try:
        # The key may have been used through another intake (a retry after it died): read
        # what every intake committed so far before taking it for new.
        await intake.catch_up("the report could not be stored", stored=True)
        if tracking := intake.ledger.submissions.get(token):
            future.set_result(tracking)
            return _replayed(intake, tracking, digest, await request.body())
        change = await _store(intake, key, data, region, token, digest)
        future.set_result(change.tracking)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody waits
        raise
    finally:
        del intake.pending[token]
    return _accepted(change, replayed=False)


async def _store(intake: Intake, key: Principal, data: ReportSubmission, region: Any, token: str | None,
                 digest: str) -> ReportStatusChange:
    now = utc_now()
    event = CitizenReportEvent(
        id=new_event_id(), source=f"intake:{key.name}", occurred_at=data.occurred_at or now,
        received_at=now, region=region, location=data.location, payload=data.report())
    tracking = new_tracking_number(now, intake.settings.intake_instance, intake.ledger.reports,
                                   intake.issuing)
    by = f"intake:{key.name}"
    change = ReportStatusChange(
        id=new_event_id(), tracking=tracking, report_id=event.id, channel=data.channel,
        category=data.category, region=region, status=ReportStatus.DITERIMA, changed_at=now,
        changed_by=by, history=[StatusStep(ReportStatus.DITERIMA, now, by)], idempotency=token,
        body_sha256=digest, report=event)
    intake.issuing.add(tracking)
    try:
        await intake.commit([Record(REPORT_STATUS, tracking.encode(), _encoder.encode(change))], "the report")
        intake.ledger.apply(change)
    finally:
        intake.issuing.discard(tracking)
    return change


def _replayed(intake: Intake, tracking: str, digest: str, body: bytes) -> Response[Accepted]:
    change = intake.ledger.reports[tracking]
    # Reports accepted before the digest was of the decoded report carry the raw body's.
    if change.body_sha256 and change.body_sha256 not in (digest, hashlib.sha256(body).hexdigest()):
        raise ApiProblem(422, "idempotency_key_reused", "this Idempotency-Key was already used for a "
                         f"different report ({tracking}); use a new key for a new report",
                         "Idempotency-Key")
    return _accepted(change, replayed=True)


def _accepted(change: ReportStatusChange, replayed: bool) -> Response[Accepted]:
    url = f"/v1/reports/{change.tracking}"
    body = Accepted(change.tracking, change.report_id, change.status, url,
                    f"Laporan Anda diterima. Nomor pelacakan: {change.tracking}")
    headers = {"Location": url}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status_code=202, headers=headers)


@get(REPORT_PATH, before_request=any_key, responses=_problem_responses(401, 404, 500, 503),
     security=SECURITY, tags=["reports"], summary="A report's status along the workflow")
async def report_status(request: Request[Any, Any, Any], tracking: str) -> ReportView:
    """The report's current status and its history."""
    return ReportView.of(await _intake(request.app.state).report(tracking))


@patch(REPORT_PATH, before_request=officer_json, security=SECURITY,
       responses=_problem_responses(400, 401, 403, 404, 408, 409, 413, 415, 500, 503), tags=["reports"],
       summary="Move a report along diterima → diverifikasi → didisposisikan → ditindaklanjuti → selesai",
       description=("Officers, supervisors and admins only. The status moves forward (steps may be "
                    "skipped), never back. With `didisposisikan`, `agency` names the agency the report "
                    "goes to: its follow-up SLA (5 working days) escalates there."))
async def move_report(request: Request[Any, Any, Any], tracking: str, data: StatusUpdate) -> ReportView:
    """Record an officer's status change as an event on posko.report_status."""
    intake = _intake(request.app.state)
    current = await intake.report(tracking)
    async with intake.locks.setdefault(current.tracking, asyncio.Lock()):
        current = await intake.report(tracking)
        position = REPORT_STATUS_ORDER.index(current.status)
        onwards = REPORT_STATUS_ORDER[position + 1:]
        if data.status not in onwards:
            can = ", ".join(onwards) or "nothing (it is finished)"
            raise ApiProblem(409, "invalid_transition", f"report {current.tracking} is "
                             f"{current.status}; it can move on to: {can}", "status")
        mover = _principal(request)
        now, by = utc_now(), f"{mover.role}:{mover.name}"
        change = msgspec.structs.replace(
            current, id=new_event_id(), status=data.status, changed_at=now, changed_by=by,
            note=data.note, history=[*current.history, StatusStep(data.status, now, by, data.note)],
            agency=data.agency or current.agency)
        await intake.commit([Record(REPORT_STATUS, change.tracking.encode(), _encoder.encode(change))],
                            "the status change")
        intake.ledger.apply(change)
    return ReportView.of(change)


@get("/healthz", tags=["service"], summary="Whether the intake takes reports", security=[],
     responses={503: ResponseSpec(data_container=Health, generate_examples=False,
                                  description="starting, or Kafka does not answer: send reports elsewhere")},
     description="No credential needed. 200 while report statuses are loaded and Kafka answers (checked "
                 "every second), 503 otherwise: a load balancer takes the intake out within seconds "
                 "of Kafka going away.")
async def health(request: Request[Any, Any, Any]) -> Response[Health]:
    """200 while report statuses are loaded and Kafka answers, 503 otherwise."""
    intake = _intake(request.app.state)
    status: HealthStatus = "starting"
    if intake.ledger.loaded.is_set():
        status = "ok" if intake.writer.ready else "kafka_unavailable"
    return Response(Health(status, len(intake.ledger.reports)), status_code=200 if status == "ok" else 503)


def _options(path: str) -> HTTPRouteHandler:
    """OPTIONS listing every method of a path; register it before the path's other handlers."""
    # Litestar 2's own OPTIONS handler lists only the methods of the path's first handler
    # (https://github.com/litestar-org/litestar/issues/4169, fixed in Litestar 3).
    @route(path, http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def options(request: Request[Any, Any, Any]) -> Response[None]:
        methods = ", ".join(sorted(request.app.route_handler_method_map[path]))
        return Response(None, status_code=204, headers={"Allow": methods})

    return options


# --- Errors ----------------------------------------------------------------------------------


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # The only place an unexpected failure is logged: Litestar logs nothing (logging_config=None)
    # and uvicorn sees a normal response.
    log.error("unexpected failure answering %s %s (client %s)", request.method, request.url.path,
              request.client.host if request.client else "?", exc_info=exc)
    return Response(Problem(500, "internal_error", "the intake failed on this request through a fault of "
                            f"its own (logged at {utc_now():%Y-%m-%d %H:%M:%S}Z); send it again later, and "
                            "tell the Posko operator if it keeps failing"), status_code=500)


def _problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if isinstance(exc, ApiProblem):
        return Response(exc.problem, status_code=exc.problem.status, headers=exc.headers)
    if isinstance(exc, ValidationException):
        found = exc.extra[0] if isinstance(exc.extra, list) and exc.extra else {}
        field = found.get("key") if isinstance(found, dict) else None
        message = found.get("message", exc.detail) if isinstance(found, dict) else exc.detail
        if field == "data":
            field = None
        where = f" at {field!r}" if field else ""
        return Response(Problem(400, "invalid_request", f"{message}{where}; see /schema/openapi.json",
                                field), status_code=400)
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= 500:
        return _unexpected(request, exc)
    if status == 413:
        return Response(Problem(413, "body_too_large", "the body is larger than the limit; reports "
                                "are at most 5,000 characters of text"), status_code=413)
    if status == 400:
        return Response(Problem(400, "malformed_json", f"the body is not valid JSON ({exc.detail})"),
                        status_code=400)
    error = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout"}.get(status, "error")
    return Response(Problem(status, error, exc.detail), status_code=status, headers=exc.headers)


def create_app(settings: Settings, extra_route_handlers: Sequence[ControllerRouterHandler] = ()) -> Litestar:
    """The intake app (plus any other connector's routes, served on the same port)."""
    intake = Intake(settings)
    openapi = OpenAPIConfig(
        title="Posko citizen report intake", version="1.0.0",
        description="Citizen reports from channels (web form, SMS gateway, WhatsApp bot, LAPOR!) "
                    "into Posko, and their follow-up status.",
        servers=[Server(url="/")],
        components=Components(security_schemes={
            "apiKey": SecurityScheme(type="http", scheme="bearer",
                                     description="A credential from `posko credential issue`")}),
    )
    return Litestar(
        route_handlers=[submit_report, _options(REPORT_PATH), report_status, move_report, health,
                        *extra_route_handlers],
        plugins=[StrictBodySchema()],
        state=State({"intake": intake}),
        on_startup=[intake.start],
        on_shutdown=[intake.close],
        openapi_config=openapi,
        request_max_body_size=settings.intake_max_body_bytes,
        exception_handlers={HTTPException: _problem, Exception: _unexpected},
        request_class=IntakeRequest,
        middleware=[DefineMiddleware(BodyDeadline, timeout_s=settings.intake_body_timeout_s)],
        logging_config=None,
    )


def run_intake(settings: Settings) -> None:
    """Serve the intake API until SIGINT/SIGTERM."""
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.intake_host, port=settings.intake_port,
                http=guarded_protocol(settings), log_level="warning", access_log=False)
