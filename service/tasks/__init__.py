"""Tasks from the CP to NSP staff ("water truck at 15:00", "close at 20:00").

api.py ──▶ sending.py (store the task and one target row per NSP, publish a ``task`` on
           each NSP's down topic; re-send until the gateway confirms the revision)
updates.py  a BatchHook inside the ingest transaction: ``task_update`` messages from the
            gateways (received / done / reopened) update the target rows
"""
