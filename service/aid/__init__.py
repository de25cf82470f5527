"""Citizen aid (burgerhulp) at the CP: volunteer counts per NSP, assignments down to the NSPs
and their state back up. The CP never holds a volunteer's name or contact details: see
docs/avg.md."""
