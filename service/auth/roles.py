"""Which roles the CP's routes admit, by name, so a rule reads like the sentence it is."""

from __future__ import annotations

from noodcore.httpguard import Role

# Read the picture: messages, NSPs (crisis room included).
READERS = (Role.OPERATOR, Role.VIEWER, Role.ADMIN)
# Work the queue, see rejected input and security events.
OPERATORS = (Role.OPERATOR, Role.ADMIN)
# Manage NSPs and credentials.
ADMINS = (Role.ADMIN,)
# Post messages for its own NSP.
GATEWAYS = (Role.GATEWAY,)
ANY_ROLE = tuple(Role)
# A CP forwarding to this instance in region role (its upstream token).
UPSTREAM_SENDERS = (Role.CP,)
