"""Facilities ("voorzieningen"): the CP's directory of where residents can go, sent down to
every targeted NSP's board (retained, versioned per NSP, reach from receipts), and the
observations NSP staff report up, which an operator turns into a state change.

    models.py     the tables (migration 0016_facilities)
    directory.py  changes, what each NSP gets, publishing and re-publishing, reach
    ingest.py     the store hooks for ``facility_receipt`` and ``facility_report``
    api.py        the REST API (/api/v1/facilities...)
    page.py       the console page (/console/facilities)
"""
