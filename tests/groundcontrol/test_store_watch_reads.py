"""The store's reads for a watcher of the whole order book (``console --watch``), on both
databases: vehicle snapshots after a row id, and a setting as the book and each site keep it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groundcontrol.fleet.store.dialect import is_url
from groundcontrol.fleet.store.sqlite import Store, VehicleSnapshot


def test_vehicle_snapshots_are_read_on_from_the_last_row_seen(store_location: str | Path) -> None:
    with Store.open(store_location) as store:
        assert store.vehicle_snapshots() == []
        store.record_vehicle(VehicleSnapshot("mit-w1", 60.0, "idle", 300.0, -35.2, 149.1, 0.0))
        store.record_vehicle(VehicleSnapshot("gre-q1", 30.0, "en route", None, None, None, None))
        first = store.vehicle_snapshots()
        assert [s.drone_id for _, s in first] == ["mit-w1", "gre-q1"]  # by row, not by time
        assert first[1][1] == VehicleSnapshot("gre-q1", 30.0, "en route")
        last_id = first[-1][0]
        assert store.vehicle_snapshots(last_id) == []
        store.record_vehicle(VehicleSnapshot("mit-w1", 120.0, "en route", 290.0, -35.21,
                                             149.11, 80.0))
        (row_id, snapshot), = store.vehicle_snapshots(last_id)
        assert row_id > last_id and snapshot.t_s == 120.0 and snapshot.alt_m == 80.0


def test_site_settings_give_the_books_and_each_sites(store_location: str | Path) -> None:
    with Store.open(store_location) as store:
        assert store.site_settings("scenario") == {}
        store.set_setting("scenario", "/s/canberra", 0.0)
        store.set_setting("scenario_x", "other", 0.0)  # a longer name is another setting
        assert store.site_settings("scenario") == {None: "/s/canberra"}
    if not is_url(store_location):
        return  # sites need PostgreSQL
    for depots in (["mitchell"], ["greenway", "hume"]):
        with Store.open(store_location, depots=depots) as site:
            site.set_setting("scenario", f"/s/{depots[0]}", 1.0)
            site.set_setting("scenarioZ", "not this one", 1.0)
    with Store.open(store_location, create=False) as whole:
        assert whole.site_settings("scenario") == {
            None: "/s/canberra", "mitchell": "/s/mitchell", "greenway,hume": "/s/greenway"}


def test_a_site_store_reads_every_vehicle(postgres_server: Any) -> None:
    store_location = postgres_server.create_database()
    with Store.open(store_location, depots=["mitchell"]) as mit:
        mit.record_vehicle(VehicleSnapshot("mit-w1", 1.0, "idle"))
    with Store.open(store_location, depots=["greenway"]) as gre:
        gre.record_vehicle(VehicleSnapshot("gre-q1", 2.0, "idle"))
        assert [s.drone_id for _, s in gre.vehicle_snapshots()] == ["mit-w1", "gre-q1"]
