"""Rendering (pure): `names` (folders, collection names, UIDs) and `ical` (calendars and items).

Import the modules directly (`from connector.render.ical import build_desired`); this package
re-exports nothing so that `connector.schedule` can use `names` without importing `ical`.
"""
