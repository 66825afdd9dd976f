"""One simulated ArduCopter: state, boot timeline, outputs and the per-step update.

The vehicle is transport-agnostic: the server feeds it parsed MAVLink messages with
``receive`` (or raw bytes with ``receive_bytes``, which checks signatures) and collects the
bytes it wants to send with ``take_output``, per channel (channels.py: 0 is SERIAL0, 1 SERIAL1);
time only moves in ``step(dt)``, so everything (telemetry rates, timeouts, failsafes) runs in
simulated time. Its signing key (signing.py) persists across reboots, like its parameters.
Message handling lives in commands.py, modes and arming in modes.py, failsafes in
failsafes.py, AUTO in autopilot_mission.py; what the vehicle answers about itself (position,
landing, status) in queries.py, whose ``VehicleQueries`` it inherits.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sitl.airframe import Airframe

from . import boot, coast, commands, failsafes, inbound, modes, telemetry
from .autopilot_mission import MissionRunner, RunState
from .battery import Battery, PowerModel
from .channels import Channels
from .fence import FenceGeometry, parse_fence, validate_fence
from .mission_server import MissionServer, StoredItem
from .params import ParamStore
from .payload import Gripper, Winch
from .physics import NavTarget, Physics
from .physics import ne_offset_m as ne_offset_m  # still importable here, as before queries.py
from .physics import offset_latlon as offset_latlon
from .queries import VehicleQueries
from .rtl import RtlController
from .signing import VehicleSigning
from .state import FailsafeState, Home, Mode, Timeline
from .streams import Streams
from .telemetry import build_message
from .validation import mission_item_error

__all__ = ["SimVehicle"]

JERK_FACTOR = 0.62
AUTO_TAKEOFF_WITHOUT_THROTTLE = 2
"""AUTO_OPTIONS bit: AllowTakeOffWithoutRaisingThrottle."""
MAX_WIND_MS = 100.0
"""SIM_WIND_SPD flown at most (a 600 km/s wind set over MAVLink drifted the copter for ever)."""
SPOOL_UP_S = 3.0
"""Motors spooling up before a takeoff climbs (recorded takeoffs start ~2 s late)."""

M = mavlink
INFO = M.MAV_SEVERITY_INFO


class SimVehicle(VehicleQueries):
    """A simulated ArduCopter (MAV_SYSID = sysid, component 1)."""

    fast_idle = True
    """Step an idle vehicle by its clock and telemetry only (False: always the full step;
    the tests compare the two)."""

    fast_coast = True
    """Step a copter holding a point or cruising straight without its controller
    (coast.py; False: always the full step)."""

    def __init__(self, home: Home, sysid: int = 1, params: dict[str, float] | None = None,
                 power: PowerModel | None = None, timeline: Timeline | None = None,
                 airframe: Airframe | None = None) -> None:
        overrides = dict(params or {})
        overrides.setdefault("MAV_SYSID", sysid)
        self.params = ParamStore(overrides)
        self.start = home
        self.airframe = airframe
        """The frame model ArduPilot SITL would fly (drag, power, pack); None: the SITL quad."""
        self.timeline = timeline or Timeline()
        self.phys = Physics()
        if airframe is not None:
            self.phys.drag = airframe.drag_coefficients()
            power = power or PowerModel.for_airframe(airframe.mass_kg, airframe.hover_power_w,
                                                     self.phys.drag)
        self.power = power or PowerModel()
        self.phys.yaw_rad = math.radians(home.heading_deg)
        self.missions = MissionServer(self.send, self.text, self._on_items_changed,
                                      self._home_item, validate_fence, mission_item_error)
        self.fence_geom = FenceGeometry()
        p = self.params
        if airframe is not None:
            self.battery = Battery(p.get("BATT_CAPACITY"), airframe.full_voltage_v,
                                   airframe.capacity_ah)
        else:
            self.battery = Battery(p.get("BATT_CAPACITY"), p.get("SIM_BATT_VOLTAGE"),
                                   p.get("SIM_BATT_CAP_AH"))
        self.payload_kg = 0.0
        self.link_up = False
        self.boots = 0
        self.reboot_requested = False
        self.faults: list[inbound.Fault] = []
        """Messages a handler failed on (logged and dropped): a simulator bug each."""
        self.signing = VehicleSigning()
        """The stored signing key and per-channel signing state (kept across reboots)."""
        self.utc_s = time.time()
        """The vehicle's GPS clock (Unix seconds): the host's clock at start, then simulated
        time, as SITL's; it moves the signing timestamp after the GPS fix."""
        self._reset_runtime()

    # ---- boot -------------------------------------------------------------------------
    def _reset_runtime(self) -> None:
        """State that a reboot forgets (parameters, stored missions and position persist)."""
        self.sysid = int(self.params.get("MAV_SYSID")) & 0xFF  # a uint8 on the wire (32767: 255)
        self.channels = Channels(self.sysid, self.signing)
        self.booted = False
        self.sim_time_s = 0.0
        self.streams = Streams()
        self.mode = Mode.STABILIZE
        self.armed = False
        self.arm_time_s = 0.0
        self.home: Home | None = None
        self.runner = MissionRunner(self)
        self.rtl = RtlController(self)
        self.gripper = Gripper(self)
        self.winch = Winch(self)
        self.wp_speed_ms = self.params.get("WPNAV_SPEED") / 100.0
        self.guided_target: tuple[float, float, float] | None = None
        self.hold_ne: tuple[float, float, float] | None = None
        self.takeoff_up_m: float | None = None
        self.takeoff_start_s = 0.0
        self.auto_armed = False
        """Copter's ap.auto_armed: AUTO may take off only once MISSION_START or a GUIDED
        takeoff set it (the SITL throttle stick never rises)."""
        self.touchdown_s: float | None = 0.0
        self.land_mode_reason = ""
        self.fence_runtime_enabled: bool | None = None
        self.fs = FailsafeState()
        self.auto_waiting = False
        """AUTO entered: the mission starts/resumes on the next step (ModeAuto::run)."""
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._next_heartbeat_s = 0.9
        self._next_timesync_s = 10.0
        self._next_prearm_check_s = 0.45
        self.prearm_failing_since_s: float | None = None
        self.last_prearm_report_s = 0.0
        self._param_notify: dict[str, None] = {}
        self._text_id = 0
        self._synced_params = -1
        """``params.version`` last copied into the physics and the battery."""
        self._idle_key: tuple[Any, ...] | None = None
        """Set after a step that left the vehicle idle (``_idle_state``): while the state
        still matches it and nothing arrives, a step changes nothing but the clock and the
        telemetry, so ``step`` does only that."""
        self._coast: coast.Coast | None = None
        """Set after a full step that left the copter in steady flight (coast.py)."""

    def boot(self) -> None:
        """Start the boot sequence (called when the first client connects)."""
        self.boots += 1
        self.booted = True
        self.params.snapshot_boot()
        self.missions.mavlink1_link = False
        boot.schedule_boot(self)
        self.gripper.on_boot()

    def request_reboot(self) -> None:
        """MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN: the server drops the link, then reboot()."""
        self.reboot_requested = True

    def reboot(self) -> None:
        """Forget runtime state (streams, mode, home); keep parameters and stored items."""
        self.reboot_requested = False
        self.signing.reboot()
        self.missions.reboot()
        self._reset_runtime()
        self.phys.freeze()

    # ---- output -------------------------------------------------------------------------
    def send(self, msg: Any) -> None:
        if self.booted:
            self.channels.send(msg)

    def raw(self, data: bytes) -> None:
        if self.booted:
            self.channels.raw(data)

    def text(self, severity: int, text: str) -> None:
        self.send(M.MAVLink_statustext_message(severity, text.encode()[:50], 0, 0))

    def send_long_text(self, severity: int, text: str) -> None:
        """A STATUSTEXT longer than 50 bytes, split into chunks with an id (MAVLink 2)."""
        data = text.encode()
        if len(data) <= 50:
            self.text(severity, text)
            return
        self._text_id = (self._text_id % 65535) + 1
        for i in range(0, len(data), 50):
            chunk = data[i:i + 50]
            self.send(M.MAVLink_statustext_message(severity, chunk, self._text_id, i // 50))

    def take_output(self, channel: int = 0) -> bytes:
        """Bytes queued for the GCS on ``channel`` since the last call."""
        self._flush_param_notifications()
        return self.channels.take(channel)

    def notify_param(self, name: str) -> None:
        """Announce a parameter the vehicle changed itself (sent after the current step)."""
        self._param_notify[name] = None

    def _flush_param_notifications(self) -> None:
        for name in list(self._param_notify):
            commands.send_param_value(self, name, 65535)
        self._param_notify.clear()

    def schedule(self, delay_s: float, fn: Callable[[], None]) -> None:
        self.schedule_at(self.sim_time_s + delay_s, fn)

    def schedule_at(self, at_s: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._events, (at_s, next(self._seq), fn))

    # ---- inputs ---------------------------------------------------------------------------
    def open_channel(self, channel: int) -> None:
        """A client connected on ``channel`` (0: SERIAL0, 1: SERIAL1)."""
        self.channels.open(channel)

    def close_channel(self, channel: int) -> None:
        """The client on ``channel`` went away."""
        self.channels.close(channel)

    def receive_bytes(self, data: bytes, channel: int = 0) -> None:
        """Parse and handle bytes from the client on ``channel``. Once signing is on,
        messages without a valid signature are dropped here (but for ArduPilot's exceptions,
        see signing.py), before anything else sees them."""
        inbound.deliver_bytes(self, data, channel)

    def receive(self, msg: Any, channel: int = 0) -> None:
        """Handle one parsed message from a GCS on ``channel`` (replies go back there);
        checked and contained by ``inbound.deliver``."""
        self._idle_key = None
        self._coast = None
        inbound.deliver(self, msg, channel)

    # ---- time -------------------------------------------------------------------------------
    def step(self, dt: float) -> None:
        """Advance the vehicle dt simulated seconds."""
        if not self.booted:
            return
        self.sim_time_s += dt
        self.utc_s += dt
        while self._events and self._events[0][0] <= self.sim_time_s:
            _, _, fn = heapq.heappop(self._events)
            fn()
            self._idle_key = None
            self._coast = None
        if self.fast_idle and self._idle_key is not None and self._idle_key == self._idle_state():
            self._periodic()  # the rest of a step would leave everything as it is
            return
        if self._coast is not None:
            if coast.still(self, self._coast, len(self._events), dt):
                self._coast_step(self._coast, dt)
                return
            self._coast = None
        self._full_step(dt)
        self._idle_key = self._idle_state() if self._idle_now() else None
        if self.fast_coast and self.armed and self._idle_key is None:
            self._coast = coast.plan(self, len(self._events), dt)

    def _coast_step(self, plan: coast.Coast, dt: float) -> None:
        """``_full_step`` in steady flight: the controller would ask for the velocity the
        copter has, the mission waits for an arrival still far off (coast.py)."""
        p = self.phys
        p.north_m += p.vn * dt
        p.east_m += p.ve * dt
        p.up_m += p.vu * dt
        here = plan.at = (p.north_m, p.east_m, p.up_m)
        plan.steps_left -= 1
        b = self.battery
        if plan.drain is None:
            b.drain(plan.power_w, dt)
            if b.sag_capacity_ah <= 0:  # the current and voltage now stay as they are
                plan.drain = (b.current_a * dt / 3.6, b.current_a * b.voltage_v * dt / 3600.0)
        else:
            b.consumed_mah += plan.drain[0]
            b.consumed_wh += plan.drain[1]
        plan.mah = b.consumed_mah
        smart = self.rtl.smart
        if smart.active and smart.points \
                and math.dist(here, smart.points[-1]) >= plan.srtl_accuracy_m:
            smart.record()
        if self.missions.transferring:
            self.missions.update(self.sim_time_s)
        if self.sim_time_s < plan.until_s:
            return  # no telemetry due, the failsafes quiet
        if plan.failsafes is None or not plan.failsafes.holds(self):
            failsafes.update(self, dt)
        self._periodic()
        plan.until_s = min(self._next_periodic_s(), coast.quiet_until_s(self, plan, dt))

    def _next_periodic_s(self) -> float:
        """When ``_periodic`` next has something to do."""
        return min(self._next_heartbeat_s, self._next_timesync_s, self._next_prearm_check_s,
                   self.streams.next_due_s)

    def _full_step(self, dt: float) -> None:
        self._sync_physics_params()
        target = modes.nav_target(self) if self.armed else None
        if self.armed or not self.phys.on_ground:  # disarmed in the air: it falls
            touched = self.phys.step(dt, target or self._hold_target()) if self.armed \
                else self.phys.fall(dt)
            if touched:
                self.touchdown_s = self.sim_time_s
                self.text(INFO, f"SIM Hit ground at {self.phys.touchdown_speed_ms:f} m/s")
            if not self.phys.on_ground:
                self.touchdown_s = None
        else:
            self.phys.freeze()
        self.winch.step(dt)
        self._drain(dt)
        modes.update(self)
        self.missions.update(self.sim_time_s)
        failsafes.update(self, dt)
        self._periodic()

    def _idle_now(self) -> bool:
        """Disarmed and still on the ground with nothing timed under way: the step after
        this one changes no state but the clock (and what the telemetry says of it)."""
        p, fs = self.phys, self.fs
        return (not self.armed and p.on_ground and p.vn == 0.0 and p.ve == 0.0
                and p.vu == 0.0 and p.roll_rad == 0.0 and p.pitch_rad == 0.0
                and self.battery.current_a == 0.0 and not self.auto_waiting
                and self.runner.state != RunState.RUNNING and self.takeoff_up_m is None
                and (self.winch.relaxed or not self.winch.present)
                and not self.missions.transferring and not fs.gcs and fs.gps_lost_s is None
                and fs.low_since_s is None and fs.crit_since_s is None
                and self.sim_time_s >= fs.recovery_until_s and not self.reboot_requested)

    def _idle_state(self) -> tuple[Any, ...]:
        """What an idle step depends on: any change (a parameter, a fault injected, a test
        moving the copter) ends the idle stepping."""
        p = self.phys
        return (self.params.version, self.battery.consumed_mah, self.payload_kg, self.mode,
                self.armed, self.home, self.fence_runtime_enabled, p.north_m, p.east_m,
                p.up_m, p.ground_up_m, len(self._events))

    def _sync_physics_params(self) -> None:
        p = self.params
        if p.version == self._synced_params:  # nothing set since: the same values again
            return
        self._synced_params = p.version
        # The jerk-limited S-curves of the real position controller reach speed later than
        # WPNAV_ACCEL alone would: 62 % of it matches the recorded leg times.
        self.phys.accel_mss = max(0.3, JERK_FACTOR * p.get("WPNAV_ACCEL") / 100.0)
        self.phys.accel_z_mss = max(0.5, p.get("WPNAV_ACCEL_Z") / 100.0)
        self.phys.angle_max_deg = p.get("ANGLE_MAX") / 100.0
        # SITL takes any wind; past MAX_WIND_MS the simulated state only runs away.
        wind = max(-MAX_WIND_MS, min(MAX_WIND_MS, p.get("SIM_WIND_SPD")))
        self.phys.set_wind(wind, p.get("SIM_WIND_DIR"))
        self.battery.capacity_mah = p.get("BATT_CAPACITY")
        if self.airframe is not None:  # SITL's frame model sets the pack, not SIM_BATT_*
            self.battery.full_voltage_v = self.airframe.full_voltage_v
            self.battery.sag_capacity_ah = self.airframe.capacity_ah
        else:
            self.battery.full_voltage_v = p.get("SIM_BATT_VOLTAGE")
            self.battery.sag_capacity_ah = p.get("SIM_BATT_CAP_AH")

    def _hold_target(self) -> NavTarget:
        if self.hold_ne is None:
            self.hold_ne = self.stopping_point()
        n, e, up = self.hold_ne
        return NavTarget(n, e, up)

    def _drain(self, dt: float) -> None:
        if not self.armed:
            self.battery.drain(0.0, dt)
            return
        if self.phys.on_ground:
            power = self.power.idle_power_w
        else:
            power = self.power.power_w(self.phys.airspeed_ms, self.phys.vu, self.payload_kg)
        self.battery.drain(power, dt)

    def _periodic(self) -> None:
        now = self.sim_time_s
        if now >= self._next_heartbeat_s:
            self._next_heartbeat_s += 1.0
            self.send(self.heartbeat_message())
            if self.signing.enabled and now >= self.timeline.gps_fix_s:
                self.signing.update_timestamp(self.utc_s)
            self.signing.periodic(now)
        if now >= self._next_timesync_s:
            self._next_timesync_s += 10.0
            self.send(M.MAVLink_timesync_message(0, round(now * 1e9)))
        if now >= self._next_prearm_check_s:
            self._next_prearm_check_s += 1.0
            modes.periodic_prearm_report(self)
        for msgid in self.streams.due(now):
            msg = build_message(self, msgid)
            if msg is not None:
                self.send(msg)

    # ---- helpers used by modes, mission, commands -----------------------------------------
    def takeoff_target(self, alt_rel_m: float) -> NavTarget:
        p = self.phys
        if self.takeoff_up_m is None:
            # ModeAuto::takeoff_start: never below the current altitude when airborne.
            target = self.home_up_m() + max(alt_rel_m, 1.0)
            self.takeoff_up_m = target if p.on_ground else max(target, p.up_m)
            self.takeoff_start_s = self.sim_time_s
        up = self.takeoff_up_m if self.takeoff_up_m is not None else p.up_m
        if p.on_ground and self.sim_time_s - self.takeoff_start_s < SPOOL_UP_S:
            up = p.up_m
        if self.hold_ne is None:
            self.hold_ne = (p.north_m, p.east_m, p.up_m)
        return NavTarget(self.hold_ne[0], self.hold_ne[1], up, climb_ms=self.climb_ms)

    def auto_armed_now(self) -> bool:
        if self.armed and int(self.params.get("AUTO_OPTIONS")) & AUTO_TAKEOFF_WITHOUT_THROTTLE:
            self.auto_armed = True
        return self.armed and self.auto_armed

    def takeoff_finished(self) -> None:
        self.takeoff_up_m = None
        self.hold_ne = None

    def set_home(self, home: Home, announce: bool) -> None:
        self.home = home
        self.missions.write_home(self._home_item() or StoredItem(M.MAV_CMD_NAV_WAYPOINT, 0))
        if announce and self.streams_requested():
            self.send(M.MAVLink_gps_global_origin_message(
                round(self.start.lat * 1e7), round(self.start.lon * 1e7),
                round(self.start.alt_m * 1000), self.time_boot_ms() * 1000))
            self.send(telemetry.home_position(self))

    def _on_items_changed(self, mission_type: int) -> None:
        if mission_type == 0:
            self.params.set("MIS_TOTAL", len(self.missions.items[0]))
            self.notify_param("MIS_TOTAL")
            self.runner.mission_changed()
        elif mission_type == 1:
            self.fence_geom = parse_fence(self.missions.items[1])
            count = len(self.missions.items[1])
            self.params.set("FENCE_TOTAL", count + 2 if count else 0)
            self.notify_param("FENCE_TOTAL")
        else:
            self.params.set("RALLY_TOTAL", len(self.missions.items[2]))
            self.notify_param("RALLY_TOTAL")

    def send_mission_current(self) -> None:
        seq, total, state, in_auto = self.mission_current()
        self.send(M.MAVLink_mission_current_message(seq, total, state, in_auto))

    def run_do_command(self, item: StoredItem, from_mission: bool) -> bool:
        return commands.run_do(self, item.command, [item.param1, item.param2, item.param3,
                                                    item.param4], from_mission)

    def gripper_release(self, from_mission: bool) -> None:
        self.gripper.release(from_mission)

    def mission_finished(self) -> None:
        modes.mission_finished(self)

    def set_mode(self, mode: int) -> bool:
        """modes.set_mode, for the failsafes (modes.py imports failsafes.py, not back)."""
        return modes.set_mode(self, mode)

    def disarm(self, from_land: bool = False) -> None:
        modes.disarm(self)

