"""MAVLink 2 signing: the ground station's key store, the link, and the built-in simulator's
vehicle side (ArduPilot's rules: unsigned messages ignored except on SERIAL0 and RADIO_STATUS).

The simulator serves each vehicle's SERIAL0 and SERIAL1 (port + 2) like SITL; signing is set up
over SERIAL0 and the unsigned commands are sent on SERIAL1, where ArduPilot ignores them.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from groundcontrol.errors import CommandTimeout, SigningKeyMismatch, SigningKeyStoreError
from groundcontrol.mavlink.commands import CommandConfig, Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.signing import ENV_KEYS, KeyStore, VehicleId, use_stored_key
from sitl.sim import Home, Mode, SimFleet, SimVehicle
from sitl.sim.signing import VehicleSigning

SPEEDUP = 20.0
CMAC = Home(-35.363261, 149.165230, 584.0, 353.0)
QUICK = CommandConfig(ack_timeout_s=0.5, retries=2, mode_confirm_s=1.0)
"""Short waits for commands we expect to go unanswered."""


# ---- the key store ---------------------------------------------------------------------------
def test_key_store_round_trip_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing-keys.json"
    key = KeyStore(path).get_or_create(VehicleId(1))
    other = KeyStore(path).get_or_create(VehicleId(2, "canberra"))
    assert len(key) == 32 and key != other
    restarted = KeyStore(path)  # a new ground-station process reading the same file
    assert restarted.get(VehicleId(1)) == key
    assert restarted.get_or_create(VehicleId(1)) == key
    assert restarted.get(VehicleId(2, "canberra")) == other
    assert restarted.get(VehicleId(2)) is None  # the name is part of the identity
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing-keys.json"]  # no temp files
    assert restarted.forget(VehicleId(1)) and KeyStore(path).get(VehicleId(1)) is None


def test_key_store_location_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_KEYS, str(tmp_path / "env.json"))
    assert KeyStore().path == tmp_path / "env.json"
    monkeypatch.delenv(ENV_KEYS)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert KeyStore().path == tmp_path / "xdg" / "drone-delivery" / "signing-keys.json"


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"version": 1, "vehicles": []}',
        '{"version": 1, "vehicles": {"sysid=1": {"key": "abc"}}}',
    ],
)
def test_a_corrupt_key_file_is_one_clear_line_naming_it(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(SigningKeyStoreError, match=f"signing key file {path}"):
        KeyStore(path).get(VehicleId(1))
    assert main(["sign", "--keys", str(path), "--connect", "tcp:127.0.0.1:1", "--status"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and len(err.strip().splitlines()) == 1


# ---- the simulated vehicle's rules, in process ----------------------------------------------
def test_vehicle_signing_rules_of_ardupilot() -> None:
    signing = VehicleSigning()
    state = signing.channel(1)
    signing.setup(bytes(range(32)), 1000)
    assert state.secret_key == bytes(range(32)) and state.sign_outgoing
    assert state.timestamp == 1000 + 60 * 100_000  # a loaded key starts a minute ahead
    assert state.allow_unsigned_callback is not None
    assert not state.allow_unsigned_callback(None, 76)  # COMMAND_LONG on SERIAL1
    assert state.allow_unsigned_callback(None, 109)  # RADIO_STATUS from a radio modem
    assert signing.channel(0).allow_unsigned_callback(None, 76)  # SERIAL0 takes anything
    signing.setup(bytes(32), 5)  # a zero key with a timestamp does NOT turn signing off
    assert signing.enabled
    signing.setup(bytes(32), 0)
    assert not signing.enabled and state.secret_key is None


def test_the_key_survives_a_vehicle_reboot() -> None:
    vehicle = SimVehicle(CMAC)
    vehicle.boot()
    vehicle.signing.setup(bytes(range(32)), 1000)
    vehicle.reboot()
    vehicle.boot()
    assert vehicle.signing.channel(0).secret_key == bytes(range(32))


# ---- over TCP against the built-in simulator --------------------------------------------------
@pytest.fixture
def fleet() -> Iterator[SimFleet]:
    with SimFleet([CMAC], speedup=SPEEDUP, base_port=0) as running:
        yield running


def _link(url: str) -> Link:
    return Link(url, heartbeat_period_s=1.0 / SPEEDUP).open()


def _mode(fleet: SimFleet) -> int:
    return int(fleet.call(lambda: fleet.vehicle(0).mode))


def _signed_vehicle(fleet: SimFleet, store: KeyStore) -> Link:
    """Set signing up over SERIAL0, as over a trusted USB cable; returns that link, open."""
    serial0 = _link(fleet.endpoints[0])
    serial0.wait_vehicle(1, timeout_s=10.0)
    serial0.setup_vehicle_signing(
        1, store.get_or_create(VehicleId(1)), key_source=str(store.path), timeout_s=5.0
    )
    return serial0


@pytest.mark.sim
def test_unsigned_command_ignored_then_signed_works_after_a_gcs_restart(
    fleet: SimFleet, tmp_path: Path
) -> None:
    store = KeyStore(tmp_path / "keys.json")
    serial0 = _signed_vehicle(fleet, store)
    assert serial0.signing_counts(1).good > 0
    assert fleet.call(lambda: fleet.vehicle(0).signing.enabled)
    try:
        with _link(fleet.serial1_endpoints[0]) as unsigned:
            channel = unsigned.wait_vehicle(1, timeout_s=10.0)  # it hears the vehicle...
            with pytest.raises(CommandTimeout):  # ...which ignores it: no COMMAND_ACK at all
                Commander(channel, QUICK).set_mode("ALT_HOLD")
        assert _mode(fleet) == Mode.STABILIZE  # and no effect

        # A "restarted" ground station: new key-store object, new link, key from the file.
        with _link(fleet.serial1_endpoints[0]) as signed:
            channel = signed.wait_vehicle(1, timeout_s=10.0)
            assert use_stored_key(signed, 1, KeyStore(tmp_path / "keys.json"), timeout_s=5.0)
            Commander(channel).set_mode("ALT_HOLD")
        assert _mode(fleet) == Mode.ALT_HOLD

        # ArduPilot's exception: SERIAL0 takes unsigned commands even now.
        serial0.disable_signing()
        Commander(serial0.vehicle(1)).set_mode("STABILIZE")
        assert _mode(fleet) == Mode.STABILIZE
    finally:
        serial0.close()


@pytest.mark.sim
def test_a_wrong_key_is_a_clear_error(fleet: SimFleet, tmp_path: Path) -> None:
    _signed_vehicle(fleet, KeyStore(tmp_path / "right.json")).close()
    wrong = KeyStore(tmp_path / "wrong.json")
    wrong.get_or_create(VehicleId(1))
    with _link(fleet.serial1_endpoints[0]) as link:
        link.wait_vehicle(1, timeout_s=10.0)
        with pytest.raises(SigningKeyMismatch) as err:
            use_stored_key(link, 1, wrong, timeout_s=5.0)
    text = str(err.value)
    assert "vehicle 1 signs its messages with a different key" in text
    assert str(wrong.path) in text and "--reset" in text
    with _link(fleet.serial1_endpoints[0]) as link:  # also while waiting for the vehicle
        link.enable_signing(wrong.get_or_create(VehicleId(1)), key_source=str(wrong.path))
        with pytest.raises(SigningKeyMismatch):
            link.wait_vehicle(1, timeout_s=5.0)


@pytest.mark.sim
def test_signing_turned_off_accepts_unsigned_again(fleet: SimFleet, tmp_path: Path) -> None:
    serial0 = _signed_vehicle(fleet, KeyStore(tmp_path / "keys.json"))
    with serial0:
        serial0.clear_vehicle_signing(1, timeout_s=5.0)
        assert not serial0.signing_enabled
    assert not fleet.call(lambda: fleet.vehicle(0).signing.enabled)
    with _link(fleet.serial1_endpoints[0]) as unsigned:
        Commander(unsigned.wait_vehicle(1, timeout_s=10.0)).set_mode("ALT_HOLD")
    assert _mode(fleet) == Mode.ALT_HOLD


@pytest.mark.sim
def test_sign_command_sets_up_reports_and_turns_off(
    fleet: SimFleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys.json"
    url = fleet.endpoints[0]
    assert main(["sign", "--connect", url, "--keys", str(keys)]) == 0
    assert "now signs" in capsys.readouterr().out
    entry = json.loads(keys.read_text())["vehicles"]["sysid=1"]
    assert fleet.call(lambda: fleet.vehicle(0).signing.key) == bytes.fromhex(entry["key"])
    assert main(["sign", "--connect", url, "--keys", str(keys), "--status"]) == 0
    assert "signs with the key kept" in capsys.readouterr().out
    assert main(["sign", "--connect", url, "--keys", str(keys), "--off"]) == 0
    assert not fleet.call(lambda: fleet.vehicle(0).signing.enabled)
    assert KeyStore(keys).get(VehicleId(1)) is None


@pytest.mark.sim
def test_fly_signs_with_the_kept_key_on_a_signed_vehicle(
    shortest_mission: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sitl as sitl_package
    from groundcontrol.cli.fly import load_mission, mission_airframe

    mission = load_mission(shortest_mission)
    home = mission.items[0]
    params = Path(sitl_package.__file__).parent / "params"
    monkeypatch.setenv(ENV_KEYS, str(tmp_path / "keys.json"))
    with SimFleet(
        [(home.x, home.y, home.z, 0.0)],
        speedup=50.0,
        base_files=[params / "copter.parm"],
        params_files=[params / "delivery.parm"],
        airframes=mission_airframe(mission, None),
        base_port=0,
    ) as fleet:
        assert main(["sign", "--connect", fleet.endpoints[0]]) == 0
        # SERIAL1 ignores anything unsigned now: the flight works only signed.
        code = main(
            [
                "fly",
                str(shortest_mission),
                "--connect",
                fleet.serial1_endpoints[0],
                "--speedup",
                "50",
            ]
        )
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "signing with the key kept for vehicle 1" in captured.out
        assert fleet.call(lambda: fleet.vehicle(0).signing.enabled)
