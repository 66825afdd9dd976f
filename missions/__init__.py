"""Pure MAVLink mission building and file formats (QGC WPL 110, QGroundControl .plan, GeoJSON)."""
