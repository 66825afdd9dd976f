"""MAVLink 2 signing against real ArduCopter SITL (``sitl`` marker; skipped without it).

Signing is set up over SERIAL0 (TCP 5760+10*I, the port ArduPilot always accepts unsigned
messages on); the commands that must be ignored go to SERIAL1 (5762+10*I). What is asserted
here was first watched on ArduCopter SITL: an unsigned or wrongly signed COMMAND_LONG on SERIAL1
gets no COMMAND_ACK and the mode stays; signed it is acknowledged and acted on; on SERIAL0 an
unsigned one still works; an all-zero key turns signing off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from groundcontrol.errors import CommandTimeout, SigningKeyMismatch
from groundcontrol.mavlink.commands import CommandConfig, Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.signing import KeyStore, VehicleId, use_stored_key
from sitl.pytest_plugin import SitlFleetFactory

pytestmark = pytest.mark.sitl

SPEEDUP = 25.0
STABILIZE, ALT_HOLD = 0, 2
QUICK = CommandConfig(ack_timeout_s=1.0, retries=2, mode_confirm_s=2.0)


def _link(url: str) -> Link:
    return Link(url, heartbeat_period_s=1.0 / SPEEDUP).open()


def _serial1(serial0: str) -> str:
    host, _, port = serial0.rpartition(":")
    return f"{host}:{int(port) + 2}"


def _mode(link: Link, sysid: int) -> int:
    """The mode in the vehicle's next HEARTBEAT (a fresh one, not one already queued)."""
    with link.vehicle(sysid).inbox(["HEARTBEAT"]) as box:
        heartbeat = box.get(5.0)
    assert heartbeat is not None, "no HEARTBEAT from the vehicle within 5 s"
    return int(heartbeat.custom_mode)


def test_signing_on_ardupilot_sitl(sitl_fleet: SitlFleetFactory, tmp_path: Path) -> None:
    sitl = sitl_fleet(1, speedup=SPEEDUP)
    sysid, serial0_url = sitl.sysids[0], sitl.endpoints[0]
    serial1_url = _serial1(serial0_url)
    store = KeyStore(tmp_path / "keys.json")
    with _link(serial0_url) as serial0:
        serial0.wait_vehicle(sysid, timeout_s=30.0)
        serial0.setup_vehicle_signing(
            sysid, store.get_or_create(VehicleId(sysid)), key_source=str(store.path), timeout_s=10.0
        )
        assert _mode(serial0, sysid) == STABILIZE

        with _link(serial1_url) as unsigned:  # hears the (signed) vehicle, but is ignored
            channel = unsigned.wait_vehicle(sysid, timeout_s=30.0)
            with pytest.raises(CommandTimeout):
                Commander(channel, QUICK).set_mode("ALT_HOLD")
        assert _mode(serial0, sysid) == STABILIZE

        wrong = KeyStore(tmp_path / "wrong.json")
        wrong.get_or_create(VehicleId(sysid))  # another random key for the same vehicle
        with _link(serial1_url) as link:
            link.wait_vehicle(sysid, timeout_s=30.0)
            with pytest.raises(SigningKeyMismatch, match=f"vehicle {sysid} signs its messages"):
                use_stored_key(link, sysid, wrong, timeout_s=10.0)

        # A restarted ground station: the key from the file, on a new link.
        with _link(serial1_url) as signed:
            channel = signed.wait_vehicle(sysid, timeout_s=30.0)
            assert use_stored_key(signed, sysid, KeyStore(store.path), timeout_s=10.0)
            Commander(channel).set_mode("ALT_HOLD")
        assert _mode(serial0, sysid) == ALT_HOLD

        # SERIAL0 is ArduPilot's secure channel: unsigned commands still work there.
        serial0.disable_signing()
        Commander(serial0.vehicle(sysid)).set_mode("STABILIZE")
        assert _mode(serial0, sysid) == STABILIZE

        serial0.enable_signing(store.get_or_create(VehicleId(sysid)), key_source=str(store.path))
        serial0.clear_vehicle_signing(sysid, timeout_s=10.0)

    with _link(serial1_url) as unsigned:  # signing off: SERIAL1 obeys unsigned commands again
        Commander(unsigned.wait_vehicle(sysid, timeout_s=30.0)).set_mode("ALT_HOLD")
        assert _mode(unsigned, sysid) == ALT_HOLD
