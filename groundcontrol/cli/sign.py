"""``drone-delivery sign``: MAVLink 2 message signing on a vehicle, as ArduPilot does it.

``sign --connect URL`` gives the vehicle a key (the one kept for it, or a new random one) with
SETUP_SIGNING and checks that its messages then carry that key; from then on ArduPilot ignores
unsigned commands on every port but SERIAL0, and ``fly`` signs with the kept key. ``--reset``
makes a new key; ``--status`` reports whether the vehicle signs and with which key; ``--off``
sends the all-zero key that turns signing off and forgets the kept one.

SETUP_SIGNING carries the key in clear: set it up over a link you trust (USB, SERIAL0, SITL's
TCP 5760). Keys live in ``--keys FILE``, ``$DRONE_DELIVERY_KEYS`` or the user's data folder
(``groundcontrol.mavlink.signing``).
"""

from __future__ import annotations

import argparse
import sys

from groundcontrol.errors import GroundControlError
from groundcontrol.mavlink.link import Link, LinkChannel
from groundcontrol.mavlink.signing import KeyStore, VehicleId

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sign",
        help="set up, check or turn off MAVLink 2 message signing on a vehicle",
        description="Give a vehicle its signing key over MAVLink (SETUP_SIGNING) and keep the "
        "key for later sessions; ArduPilot then ignores unsigned commands on every port but "
        "SERIAL0. Send the key only over a link you trust.",
    )
    p.add_argument("--connect", required=True, metavar="URL", help="MAVLink URL of the vehicle")
    p.add_argument(
        "--sysid",
        type=int,
        default=None,
        help="the vehicle's system id (default: the first vehicle heard)",
    )
    p.add_argument(
        "--name", default="", help="a name kept with the sysid, for fleets that reuse sysids"
    )
    p.add_argument(
        "--keys",
        default=None,
        metavar="FILE",
        help="the key file (default: $DRONE_DELIVERY_KEYS or "
        "$XDG_DATA_HOME/drone-delivery/signing-keys.json)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--status",
        action="store_true",
        help="report whether the vehicle signs, and with the kept key",
    )
    what.add_argument(
        "--reset",
        action="store_true",
        help="make a new key for the vehicle and set it up (the vehicle must "
        "accept it: over SERIAL0, or signed with the old key)",
    )
    what.add_argument(
        "--off", action="store_true", help="turn signing off on the vehicle and forget its key"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="wall seconds to wait for the vehicle at each step (default 10)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = KeyStore(args.keys)
    store.vehicles()  # a corrupt key file is reported before any connection is tried
    try:
        with Link(args.connect, connect_timeout_s=args.timeout) as link:
            channel = link.wait_vehicle(args.sysid, timeout_s=args.timeout)
            vehicle = VehicleId(channel.sysid, args.name)
            if args.status:
                print(_status(link, channel, store, vehicle, args.timeout))
            elif args.off:
                _off(link, store, vehicle, args.timeout)
                print(f"vehicle {vehicle.sysid}: signing off; its key is no longer kept")
            else:
                key = store.new_key(vehicle) if args.reset else store.get_or_create(vehicle)
                link.setup_vehicle_signing(
                    vehicle.sysid,
                    key,
                    key_source=str(store.path),
                    compid=channel.compid,
                    timeout_s=args.timeout,
                )
                print(
                    f"vehicle {vehicle.sysid} now signs with the key kept in {store.path} "
                    f"({vehicle.label}); it ignores unsigned commands except on SERIAL0"
                )
    except GroundControlError as exc:
        print(f"drone-delivery sign: {exc}", file=sys.stderr)
        return 1
    return 0


def _status(
    link: Link, channel: LinkChannel, store: KeyStore, vehicle: VehicleId, timeout_s: float
) -> str:
    key = store.get(vehicle)
    if key is None:
        return (
            f"vehicle {vehicle.sysid}: no key kept for {vehicle.label} in {store.path}; "
            "`drone-delivery sign --connect URL` sets one up"
        )
    link.enable_signing(key, key_source=str(store.path))
    if link.confirm_signing(vehicle.sysid, timeout_s=timeout_s):
        return f"vehicle {vehicle.sysid}: signs with the key kept in {store.path}"
    return (
        f"vehicle {vehicle.sysid}: does not sign (a key is kept for it in {store.path}; "
        "`drone-delivery sign --connect URL` gives it to the vehicle)"
    )


def _off(link: Link, store: KeyStore, vehicle: VehicleId, timeout_s: float) -> None:
    key = store.get(vehicle)
    if key is not None:
        # Signed with the kept key: a signing vehicle takes it that way on any port.
        link.enable_signing(key, key_source=str(store.path))
        link.confirm_signing(vehicle.sysid, timeout_s=timeout_s)
    link.clear_vehicle_signing(vehicle.sysid, timeout_s=timeout_s)
    store.forget(vehicle)
