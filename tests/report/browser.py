"""Open a local HTML file in headless Chromium with the network cut off, and take a screenshot.

Chromium is driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``: commands
on fd 3, replies and events on fd 4, each message JSON ended by a NUL byte), so nothing beyond the
standard library and the browser itself is needed. Every request the page makes is recorded; any
request that is not for a ``file:`` or ``data:`` URL is aborted before it leaves, and host names
resolve to nothing and the proxy points nowhere, in case something slips past the interception.

A test driver (tests/report/test_browser.py); by hand: ``python tests/report/browser.py reports/x.html x.png [--full-page]``.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbert_eval.errors import UserError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-device-scale-factor=1",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-pipe",
)
LOCAL_SCHEMES = ("file:", "data:")
# Puts the pipe ends on fds 3 and 4 and becomes the browser (thread-safe, unlike `preexec_fn`).
TRAMPOLINE = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])"
)


@dataclass
class PageVisit:
    """What happened while the page was open."""

    url: str
    requests: list[str] = field(default_factory=list)  # every URL requested, the page itself included
    blocked: list[str] = field(default_factory=list)  # requests for non-local URLs (aborted)
    console_errors: list[str] = field(default_factory=list)  # console errors, exceptions, error logs
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages (dismissed)
    value: Any = None  # the result of the `evaluate` expression


def find_chromium() -> str | None:
    """The path of an installed Chromium (or Chrome), or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class _Pipe:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, executable: str, folder: Path) -> None:
        commands_r, commands_w = os.pipe()
        replies_r, replies_w = os.pipe()
        # Copies numbered 10 and up, so that placing them on fds 3 and 4 in the child clobbers neither.
        child_r, child_w = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, replies_w))
        for fd in (commands_r, replies_w):
            os.close(fd)
        self.log = folder / "chromium.log"
        log = self.log.open("wb")
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    TRAMPOLINE,
                    str(child_r),
                    str(child_w),
                    executable,
                    *FLAGS,
                    f"--user-data-dir={folder / 'profile'}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=(child_r, child_w),
            )
        finally:
            log.close()
            os.close(child_r)
            os.close(child_w)
        self._in, self._out = replies_r, commands_w
        self._buffer = b""
        self._next_id = 0
        self.handlers: dict[str, Callable[[dict, str | None], None]] = {}

    def post(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        """Send a command without waiting for its reply; returns its id."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        return self._next_id

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        """Send a command and return its result, dispatching the events that arrive meanwhile."""
        wanted = self.post(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})

    def wait_for(self, event: str, timeout: float = 30.0) -> dict:
        """Dispatch events until `event` arrives; returns its params."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, event)
            if message.get("method") == event:
                return message.get("params", {})

    def _receive(self, deadline: float, waiting_for: str) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._in], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer {waiting_for} in time{self._log_tail()}")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited while waiting for {waiting_for}{self._log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        handler = self.handlers.get(message.get("method", ""))
        if handler:
            handler(message.get("params", {}), message.get("sessionId"))
        return message

    def _log_tail(self) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        return "; its log ends:\n" + "\n".join(lines) if lines else ""

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has."""
        try:
            self.post("Browser.close")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for fd in (self._in, self._out):
            os.close(fd)


def _record(visit: PageVisit, pipe: _Pipe) -> None:
    """Install the event handlers that fill `visit` and keep the page offline."""

    def paused(params: dict, session: str | None) -> None:
        url = params["request"]["url"]
        if url.startswith(LOCAL_SCHEMES):
            pipe.post("Fetch.continueRequest", {"requestId": params["requestId"]}, session)
        else:
            visit.blocked.append(url)
            pipe.post(
                "Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"}, session
            )

    def console(params: dict, _: str | None) -> None:
        if params.get("type") in ("error", "assert"):
            visit.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))

    def exception(params: dict, _: str | None) -> None:
        details = params["exceptionDetails"]
        visit.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))

    def log(params: dict, _: str | None) -> None:
        if params["entry"].get("level") == "error":
            visit.console_errors.append(params["entry"].get("text", ""))

    def dialog(params: dict, session: str | None) -> None:
        visit.dialogs.append(params.get("message", ""))
        pipe.post("Page.handleJavaScriptDialog", {"accept": False}, session)

    pipe.handlers.update(
        {
            "Fetch.requestPaused": paused,
            "Network.requestWillBeSent": lambda params, _: visit.requests.append(params["request"]["url"]),
            "Runtime.consoleAPICalled": console,
            "Runtime.exceptionThrown": exception,
            "Log.entryAdded": log,
            "Page.javascriptDialogOpening": dialog,
        }
    )


def screenshot(
    html_path: Path,
    png_path: Path | None,
    width: int = 1280,
    height: int = 800,
    evaluate: str | None = None,
    full_page: bool = False,
    timeout: float = 30.0,
) -> PageVisit:
    """Open `html_path` offline at width×height, save a PNG to `png_path` (None: no picture).

    `evaluate` is a JavaScript expression run once the page has loaded; its JSON-able result is
    returned in the visit, with every request, console error and dialog seen. `full_page` captures
    the whole page rather than the first screen.
    """
    executable = find_chromium()
    if executable is None:
        raise UserError("Chromium not found; install it (Debian: apt-get install chromium)")
    url = Path(html_path).resolve().as_uri()
    visit = PageVisit(url)
    with tempfile.TemporaryDirectory(prefix="mbert-eval-chromium-") as folder:
        pipe = _Pipe(executable, Path(folder))
        try:
            _record(visit, pipe)
            target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            pipe.send("Page.navigate", {"url": url}, session, timeout=timeout)
            pipe.wait_for("Page.loadEventFired", timeout=timeout)
            if evaluate is not None:
                result = pipe.send("Runtime.evaluate", {"expression": evaluate, "returnByValue": True}, session)
                if "exceptionDetails" in result:
                    raise RuntimeError(f"evaluate failed: {result['exceptionDetails'].get('text')}")
                visit.value = result["result"].get("value")
            if png_path is not None:
                params: dict[str, Any] = {"format": "png"}
                if full_page:
                    size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
                    params.update(
                        captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
                    )
                data = pipe.send("Page.captureScreenshot", params, session, timeout=timeout)["data"]
                Path(png_path).parent.mkdir(parents=True, exist_ok=True)
                Path(png_path).write_bytes(base64.b64decode(data))
        finally:
            pipe.close()
    return visit


def main(argv: list[str] | None = None) -> None:
    """Command line: screenshot an HTML file and print what the page requested or logged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args(argv)
    visit = screenshot(args.html, args.png, args.width, args.height, full_page=args.full_page)
    print(
        f"{args.png}: {len(visit.requests)} request(s), {len(visit.blocked)} blocked, "
        f"{len(visit.console_errors)} console error(s)"
    )
    for line in visit.blocked + visit.console_errors:
        print(f"  {line}")


if __name__ == "__main__":
    main()
