"""Load test of the dashboard server itself: participants as websocket clients of a running
``streamlit run app/main.py``, speaking Streamlit's own protocol (the protobuf ``BackMsg``/``ForwardMsg``
messages the browser exchanges with the server on ``/_stcore/stream``).

Each client is one participant on the real Study session page: it opens its signed link (a rerun with
the link's query string on the ``study_session`` page), presses the consent button, and then, screen by
screen, chooses a rating in the radio the page drew, exactly the widget state a browser sends. The
server runs the page for every such message as it would for a browser: the runner checks and
group-commits the answer, and the page's next screen comes back. A click counts as stored once the
server's reply shows the next screen (or the thank-you page); its latency is the time from sending the
click to that reply. Afterwards the database is read: ``lost`` answers were shown as stored but are not
in it.

:func:`serve_dashboards` starts the servers (one, or several behind a local reverse proxy, see
:mod:`.scaleout`), on 127.0.0.1 only; every wait is bounded and everything stops by itself.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from interp_core.study.tokens import make_token


class ProtocolError(RuntimeError):
    """The server answered something a participant's browser would not expect (an exception, no screen)."""


@dataclass
class ParticipantRun:
    """What one simulated participant saw: latencies of stored answers (s) and any error."""

    token: str
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # item ids shown as stored
    server: str = ""  # behind the proxy: the server that took the connection (its cookie)
    error: str = ""


class StreamlitClient:
    """One browser tab's conversation with a Streamlit server, reduced to what a participant does."""

    def __init__(self, base: str, page: str, query: str, timeout: float = 120.0):
        self.url = base.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.page, self.query, self.timeout = page, query, timeout
        self.ws, self.server = None, ""
        self.pages: dict[str, str] = {}  # URL path -> page script hash, from the server's navigation messages

    async def __aenter__(self) -> "StreamlitClient":
        import websockets

        self.ws = await asyncio.wait_for(websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                                            open_timeout=self.timeout), self.timeout)
        cookie = self.ws.response.headers.get("Set-Cookie", "") if self.ws.response else ""
        self.server = cookie.split(";")[0].split("=", 1)[1] if cookie.startswith("DASHBOARD=") else ""
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def run(self, widgets: list[Any] = ()) -> list[tuple[str, Any]]:
        """Send a rerun with ``widgets`` (``WidgetState`` messages) and return the elements
        ``[(type, element), ...]`` of the run that finished (runs ended early for a rerun are skipped).
        The page is named by its URL path, as a browser opening the link does, and by its script hash
        once the server's navigation message has given it."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = self.query
        message.rerun_script.page_name = self.page
        message.rerun_script.page_script_hash = self.pages.get(self.page, "")
        message.rerun_script.widget_states.widgets.extend(widgets)
        await self.ws.send(message.SerializeToString())
        elements: list[tuple[str, Any]] = []
        deadline = time.monotonic() + self.timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic()))
            reply = ForwardMsg()
            reply.ParseFromString(raw)
            kind = reply.WhichOneof("type")
            if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                element = reply.delta.new_element
                elements.append((element.WhichOneof("type"), element))
            elif kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in reply.navigation.app_pages})
            elif kind == "script_finished":
                if reply.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    break
                if reply.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise ProtocolError("the page did not compile")
                elements = []  # ended early for a rerun: the next run draws the page
        errors = [e.exception.message for k, e in elements if k == "exception"]
        if errors:
            raise ProtocolError(f"the page raised: {errors[0]}")
        return elements


def _progress(elements) -> str:
    return next((e.progress.text for k, e in elements if k == "progress"), "")


def _thanked(elements) -> bool:
    return any(k == "alert" and "Thank you" in e.alert.body for k, e in elements)


class _StartLine:
    """Participants answer together: the line opens once every one has consented (or failed)."""

    def __init__(self, participants: int):
        self.waiting, self.opened = participants, asyncio.Event()

    def arrive(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self.opened.set()


async def participant(base: str, study_id: str, token: str, answers: int, think_s: float, line: _StartLine,
                      seed: int, timeout: float) -> ParticipantRun:
    """One participant: open the link, consent, wait at the start line, then answer every screen."""
    import random

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    result, rng, arrived = ParticipantRun(token), random.Random(seed), False
    try:
        async with StreamlitClient(base, "study_session", urlencode({"study": study_id, "token": token}), timeout) as client:
            result.server = client.server
            for _ in range(3):  # a fresh server running its first sessions at once may draw its default page first
                page = await client.run()
                consent = next((e.button for k, e in page if k == "button" and e.button.label.startswith("I agree")), None)
                if consent is not None:
                    break
            else:
                raise ProtocolError("no consent button on the study page")
            page = await client.run([WidgetState(id=consent.id, trigger_value=True)])
            line.arrive()
            arrived = True
            await line.opened.wait()
            for _ in range(answers):
                radio = next((e.radio for k, e in page if k == "radio" and not e.radio.disabled), None)
                if radio is None:
                    raise ProtocolError(f"no question to answer (page shows {_progress(page)!r})")
                before = _progress(page)
                if think_s:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
                clicked = time.perf_counter()
                page = await client.run([WidgetState(id=radio.id, string_value=rng.choice(list(radio.options)))])
                if _progress(page) == before and not _thanked(page):
                    raise ProtocolError(f"the answer was not shown as stored (still {before!r})")
                result.latencies.append(time.perf_counter() - clicked)
                result.acknowledged.append(int(radio.id.rsplit("study-answer:", 1)[1].split(":")[0]))
    except Exception as err:  # reported, not raised: the run goes on to count what was lost
        result.error = f"{type(err).__name__}: {err}"
    finally:
        if not arrived:
            line.arrive()
    return result


async def drive(base: str, study_id: str, tokens: list[str], answers: int, think_s: float = 0.0,
                timeout: float = 120.0) -> list[ParticipantRun]:
    """Every participant at once; they start answering together once all have consented (or failed)."""
    line = _StartLine(len(tokens))
    return list(await asyncio.gather(*(participant(base, study_id, t, answers, think_s, line, n, timeout)
                                       for n, t in enumerate(tokens))))


def make_tokens(study_id: str, count: int, secret: bytes) -> list[str]:
    return [make_token(study_id, secret=secret) for _ in range(count)]
