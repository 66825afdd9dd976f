"""The built-in ArduCopter-compatible simulator (MAVLink 2, ardupilotmega dialect).

Behaves on the wire like ArduCopter 4.7 SITL as recorded in
``shared/reference/ardupilot-copter`` so ground-control code flies it and real SITL unchanged.

Stable in-process API (used by tests, the demo and the ground-control helper)::

    from sitl.sim import SimFleet, Home

    with SimFleet(homes=[(-35.363261, 149.165230, 584.0, 353.0)], speedup=50.0,
                  params_files=["sitl/params/delivery.parm"], base_port=0) as fleet:
        url = fleet.endpoints[0]          # "tcp:127.0.0.1:PORT" (one client at a time)
        ...                               # connect a GCS; the vehicle boots on connect
        fleet.wait_sim(5.0)               # block until 5 simulated seconds have passed
        v = fleet.vehicle(0)              # SimVehicle: .mode, .armed, .latlon(), .alt_rel_m(),
                                          #   .battery (.voltage_v, .current_a, .consumed_mah),
                                          #   .params.get(name), .home, .missions.mission()
        fleet.set_wind(0, 5.0, 270.0)     # fault injection: wind (speed m/s, from degrees)
        fleet.drain_battery(0, 2000.0)    # remove charge (mAh)
        fleet.set_payload(0, 1.5)         # parcel mass (kg); the gripper's release drops it
        fleet.kill_link(0)                # close the TCP client
        fleet.blackout(0, 10.0)           # lose all traffic for 10 simulated seconds
        fleet.sim_time_s                  # simulated seconds since start

Vehicle i listens on base_port + 10*i (ArduPilot SITL's ``-I i`` layout) with MAV_SYSID
sysid_base+i (default i+1); base_port=0 picks free ports; a busy port raises SimulatorError.
Read vehicle state under ``fleet.lock`` (or ``fleet.call``). Other knobs:
``SimFleet(..., wind=(speed_ms, from_deg), timeline=Timeline(ekf_gps_s=...), power=PowerModel())``
(the default Timeline is the recorded SITL boot: GPS fix 10 s, home 20 s, EKF ready ~42 s).

Like SITL's serial0, each port serves one TCP client at a time: the vehicle boots when the
first client connects, a second client waits in the listen backlog until the first closes,
the vehicle keeps flying without a client, and PREFLIGHT_REBOOT_SHUTDOWN drops the client,
forgets stream rates, mode and home, keeps parameters and stored missions, and boots again on
the next connection. Parameters from ``params_files``/``params`` apply at boot (so GRIP_ENABLE
there needs no reboot); set over MAVLink, GRIP_ENABLE/WINCH_TYPE act after a reboot.

Modules, bottom up (each imports only those before it): params, physics (kinematics, ANGLE_MAX
speed cap, wind), battery (the simulator's own power model), mission_server (the mission
protocol), fence, streams (telemetry rates); state (Home, Timeline, Mode, FailsafeState and
VehicleCore, the vehicle as its parts see it); boot (timeline), payload (gripper, winch), rtl,
autopilot_mission (AUTO); protocol (SimVehicleLike, the whole vehicle as the next four see it);
failsafes (battery, GCS, fence), modes (modes, arming), telemetry (message builders), validation
(every number from the GCS checked, refused as ArduCopter refuses it), commands (everything
else from the GCS), inbound (bytes and messages in: validation first, then the handlers, a
handler's exception contained per message); queries (what the vehicle answers about itself:
position, landing, status); vehicle; server (TCP, fleet).

Hostile input (issue 11): no message stops the simulator. NaN, infinities and values that do not
fit are refused where they come in (``validation``, with the answers measured on ArduCopter 4.7
SITL, which itself aborts on many of them); a handler that still raises is logged with the
message type and kept in ``SimVehicle.faults`` (a bug: tests assert it stays empty), and the
vehicle flies on.

Signing (signing.py) follows ArduPilot's GCS_Signing.cpp: SETUP_SIGNING sets a key kept across
reboots (not while armed; the all-zero key with timestamp 0 clears it), everything is then sent
signed, and unsigned or wrongly signed messages are dropped except on channel 0 and RADIO_STATUS.
Like SITL, each vehicle also serves SERIAL1 on its port + 2 (``fleet.serial1_endpoints``;
channels.py), the port to show unsigned commands ignored on; SERIAL0 is channel 0.

Not modelled: terrain frames (treated as relative), spline waypoints (flown as straight
legs), SmartRTL/ZigZag/other modes, RC input, the 1354-parameter table (about 100 that matter),
SERIAL2 and more GCS links per vehicle, per-channel stream rates, MAVLink 1 output.
"""

from __future__ import annotations

from .battery import Battery, PowerModel
from .params import ParamStore, load_parm_file
from .server import SimFleet, SimulatorError
from .state import Home, Mode, Timeline
from .vehicle import SimVehicle

__all__ = [
    "Battery",
    "Home",
    "Mode",
    "ParamStore",
    "PowerModel",
    "SimFleet",
    "SimVehicle",
    "SimulatorError",
    "Timeline",
    "load_parm_file",
]
