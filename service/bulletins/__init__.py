"""Public information at the CP: bulletins down to every NSP, receipts back up.

api.py ──▶ versions.py (create / new version / withdraw; one row per version, never
│           overwritten) ──▶ publish.py (retained on noodnet/v1/{cp}/bulletin/{id};
│           re-published after every broker (re)connect)
├─ cap.py     CAP 1.2 import and export, validated against the OASIS XSD (CAP-v1.2.xsd)
└─ reach.py   receipts (a BatchHook inside the ingest transaction) and the reach view:
              which targeted NSPs show the current version, which are behind, stale, silent
"""
