"""The vehicle screen (``v`` on the fleet panel): one vehicle operated as a ground station does.

Arm and disarm, a mode from ArduCopter's list, a guided go-to, parameters (find by part of the
name, read, set with the echoed value shown), and a mission, fence and rally uploaded from a
``.plan``/``.waypoints`` file or downloaded to one. Text is checked here (``vehicle_ops.parse_*``)
before anything is sent; everything that changes the vehicle asks first. The backend carries the
operation out in a worker thread and may refuse it (a delivery has the vehicle); the answer shows
here and, as an ``ActionFinished``, in the event log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static

from groundcontrol.console.messages import ActionFinished
from groundcontrol.console.model import ActionResult, OrderView, VehicleView
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.flight.vehicle_ops import (
    OPERATOR_MODES,
    Arm,
    Disarm,
    FindParams,
    ReadParam,
    SetParam,
    VehicleOp,
    parse_download_path,
    parse_goto,
    parse_mode,
    parse_number,
    parse_param_name,
    parse_upload_path,
)
from groundcontrol.mavlink.vehicle import COPTER_MODES

__all__ = ["OPERATE_ACTION", "VehicleOpsScreen", "vehicle_line"]

OPERATE_ACTION = "operate"
"""The ``ActionFinished.action`` of an operation."""
Operate = Callable[[str, VehicleOp], ActionResult]
_MODES = (*OPERATOR_MODES, *sorted(set(COPTER_MODES.values()) - set(OPERATOR_MODES)))
_WARNINGS = {
    "disarm": "ArduCopter refuses to disarm in the air; on the ground the motors stop.",
    "mode RTL": "RTL flies straight home, through any no-fly zone on the way; SMART_RTL "
                "retraces the path flown.",
    "arm": "ArduCopter's pre-arm checks apply; it disarms itself if it does not take off.",
}


def vehicle_line(v: VehicleView) -> str:
    """One line of the vehicle's state for the screen's head.

    >>> from groundcontrol.console.model import VehicleState
    >>> vehicle_line(VehicleView("q1", 1, VehicleState.IDLE, "LOITER", battery_pct=97.0))
    'q1 · sysid 1 · idle · LOITER · disarmed · 97 %'
    """
    parts = [v.name, f"sysid {v.sysid}", v.state.value, v.mode or "mode ?",
             "ARMED" if v.armed else "disarmed"]
    if v.battery_pct is not None:
        parts.append(f"{v.battery_pct:.0f} %")
    if v.position is not None:
        parts.append(f"{v.position.lat:.5f}, {v.position.lon:.5f}")
    if v.alt_m is not None:
        parts.append(f"{v.alt_m:.0f} m")
    return " · ".join(parts)


def _busy_note(v: VehicleView) -> str:
    if not v.order_id:
        return ""
    return (f"{v.name} is on {v.order_id}: arming, modes, go-to, parameter changes and uploads "
            "are refused until that flight ends (pause or abort it first); reading works")


class VehicleOpsScreen(ModalScreen[None]):
    """Operates ``vehicle`` through ``operate`` (the backend's ``VehicleOperator.operate``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    VehicleOpsScreen { align: center middle; background: $background 60%; }
    #ops-box { width: 100%; max-width: 100; height: auto; max-height: 100%;
               border: thick $primary; background: $surface; padding: 0 1; }
    #ops-box .ops-row { height: 1; }
    #ops-box .ops-label { width: 10; }
    #ops-box Input { width: 1fr; }
    #ops-box Button { margin-left: 1; min-width: 8; }
    #ops-box Select { width: 20; }
    #ops-state { color: $text-accent; }
    #ops-busy { color: $warning; }
    #ops-params { height: 4; border: none; }
    #ops-result { height: auto; max-height: 3; margin-top: 1; }
    #ops-result.refused { color: $error; }
    """

    def __init__(self, vehicle: VehicleView, operate: Operate) -> None:
        super().__init__()
        self.vehicle = vehicle
        self._operate = operate
        self.busy = False
        self.results: list[ActionResult] = []
        """Every answer shown here, oldest first."""

    def compose(self) -> ComposeResult:
        with Vertical(id="ops-box"):
            yield Label(f"Operate {self.vehicle.name}", classes="detail-title")
            yield Static(vehicle_line(self.vehicle), id="ops-state")
            yield Static(_busy_note(self.vehicle), id="ops-busy")
            with Horizontal(classes="ops-row"):
                yield Label("Arming", classes="ops-label")
                yield Button("Arm", id="arm", compact=True)
                yield Button("Disarm", id="disarm", variant="warning", compact=True)
                yield Select([(m, m) for m in _MODES], prompt="mode", id="mode", compact=True,
                             allow_blank=True)
                yield Button("Set mode", id="set-mode", compact=True)
            with Horizontal(classes="ops-row"):
                yield Label("Go to", classes="ops-label")
                for name, hint in (("lat", "lat -35.28"), ("lon", "lon 149.13"), ("alt", "alt m")):
                    yield Input(placeholder=hint, id=f"go-{name}", compact=True)
                yield Button("Go", id="goto", compact=True)
            with Horizontal(classes="ops-row"):
                yield Label("Parameter", classes="ops-label")
                yield Input(placeholder="name or part", id="param-name", compact=True)
                yield Input(placeholder="value", id="param-value", compact=True)
                yield Button("Find", id="find", compact=True)
                yield Button("Read", id="read", compact=True)
                yield Button("Set", id="set", compact=True)
            yield OptionList(id="ops-params", compact=True)
            with Horizontal(classes="ops-row"):
                yield Label("File", classes="ops-label")
                yield Input(placeholder=".plan or .waypoints path", id="path", compact=True)
                yield Button("Upload", id="upload", compact=True)
                yield Button("Download", id="download", compact=True)
            yield Static("", id="ops-result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ops-busy", Static).display = bool(_busy_note(self.vehicle))
        self.query_one("#ops-params", OptionList).display = False
        self.query_one("#arm", Button).focus()

    def update_views(self, vehicles: dict[str, VehicleView], orders: dict[str, OrderView]
                     ) -> None:
        """Live state from the app's redraws."""
        vehicle = vehicles.get(self.vehicle.name)
        if vehicle is None or vehicle == self.vehicle:
            return
        self.vehicle = vehicle
        for state in self.query("#ops-state").results(Static):
            state.update(vehicle_line(vehicle))
        for note in self.query("#ops-busy").results(Static):
            note.update(_busy_note(vehicle))
            note.display = bool(vehicle.order_id)

    # -- building operations ---------------------------------------------------------------

    def text(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.request(event.button.id or "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.input.id or ""
        if name.startswith("go-"):
            self.request("goto")
        elif name == "param-name":
            self.request("find")
        elif name == "param-value":
            self.request("set")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        name, _, value = str(event.option.prompt).partition(" ")
        self.query_one("#param-name", Input).value = name
        self.query_one("#param-value", Input).value = value
        self.query_one("#param-value", Input).focus()

    def request(self, what: str) -> None:
        """Build the operation ``what`` (a button's id) from the fields and carry it out,
        asking first when it changes the vehicle; bad text is shown, nothing sent."""
        try:
            op = self._build(what)
        except ValueError as exc:
            self._show(ActionResult.refused(str(exc)), log=False)
            return
        if op is None:
            return
        if op.reads_only:
            self.run_op(op)
            return
        detail = _WARNINGS.get(op.describe(), "")
        if self.vehicle.order_id:
            detail = f"{detail} {_busy_note(self.vehicle)}".strip()

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_op(op)

        self.app.push_screen(ConfirmScreen(f"{self.vehicle.name}: {op.describe()}?", detail),
                             answered)

    def _build(self, what: str) -> VehicleOp | None:
        if what in ("arm", "disarm"):
            return Arm() if what == "arm" else Disarm()
        if what == "set-mode":
            mode = self.query_one("#mode", Select).value
            if not isinstance(mode, str):
                raise ValueError("mode: choose one in the list first")
            return parse_mode(mode)
        if what == "goto":
            return parse_goto(self.text("go-lat"), self.text("go-lon"), self.text("go-alt"))
        if what == "find":
            text = self.text("param-name").strip()
            if not text:
                raise ValueError("param: type a name or part of one")
            return FindParams(text)
        if what in ("read", "set"):
            name = parse_param_name(self.text("param-name"))
            if what == "read":
                return ReadParam(name)
            return SetParam(name, parse_number(self.text("param-value").strip(), "value"))
        if what == "upload":
            return parse_upload_path(self.text("path"))
        if what == "download":
            return parse_download_path(self.text("path"))
        return None

    # -- carrying them out -----------------------------------------------------------------

    def run_op(self, op: VehicleOp) -> None:
        """Carry ``op`` out in a worker (one at a time); the answer comes back to ``_show``."""
        if self.busy:
            self._show(ActionResult.refused("the last operation has not answered yet"),
                       log=False)
            return
        self.busy = True
        self._set_result(f"{op.describe()}: working…", refused=False)
        self._work(op)

    @work(thread=True, group="operate")
    def _work(self, op: VehicleOp) -> None:
        try:
            result = self._operate(self.vehicle.name, op)
        except Exception as exc:  # a backend bug must not end the shift: show it
            result = ActionResult.refused(f"backend error: {type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._done, result)

    def _done(self, result: ActionResult) -> None:
        self.busy = False
        self._show(result)

    def _show(self, result: ActionResult, log: bool = True) -> None:
        self.results.append(result)
        text = result.message if result.ok else "refused: " + "; ".join(result.reasons)
        self._set_result(("✔ " if result.ok else "✖ ") + text, refused=not result.ok)
        details: tuple[str, ...] = getattr(result, "details", ())
        params = self.query_one("#ops-params", OptionList)
        if details:
            params.clear_options()
            params.add_options(details)
            params.display = True
        if log:
            self.app.post_message(ActionFinished(OPERATE_ACTION, self.vehicle.name, result))

    def _set_result(self, text: str, refused: bool) -> None:
        shown = self.query_one("#ops-result", Static)
        shown.set_class(refused, "refused")
        shown.update(text)

    def action_close(self) -> None:
        self.dismiss(None)
