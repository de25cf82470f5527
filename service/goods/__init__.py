"""Scarce goods (verdeling) at the CP: each NSP's stock ledger rebuilt from its entries, hand-out
rates, low-stock warnings with days left, deliveries (tasks with goods) and ration rules."""
