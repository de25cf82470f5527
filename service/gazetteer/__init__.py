"""The CP area's gazetteer: streets with their house numbers and positions, towns and villages,
and named places (schools, churches, stations, bridges, shops), loaded by the region from a BAG
extract (``noodnet gazetteer import``) and stored in the CP database.

No place name of any area lives in code: grouping reads towns, streets and places only from
here (service.triage.normalise works without one, by the shape of Dutch street names).

    models.py    the tables (migration 0008_gazetteer)
    importer.py  CSV import: flat BAG address extract and a places list, bad rows reported
    index.py     the in-memory index: street matching (abbreviations, typos), addresses read
                 from free text, geocoding and reverse geocoding
"""
