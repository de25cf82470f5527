"""Operations of the CP: metrics (/metrics), after-action reports, backups."""
