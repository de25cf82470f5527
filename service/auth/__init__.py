"""Who may do what at the CP: API tokens (hashed, expiring, revocable), roles, the rules on
every route (``noodcore.httpguard``), and the audit trail of security events."""
