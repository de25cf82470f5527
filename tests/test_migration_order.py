"""The migration files' names follow the revision chain: reading service/migrations/versions
in name order is reading the schema's history in the order it is applied.

Revision ids are not renamed (databases in the field store them in ``alembic_version``); only
the file names carry the order. The chain must stay linear: a second head would make the
order ambiguous (and the next migration must then merge them first).
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic.script import ScriptDirectory

from service.db import alembic_config


def test_file_names_are_in_chain_order() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = scripts.get_heads()
    assert len(heads) == 1, f"the migrations have more than one head: {heads}"
    chain = [s for s in scripts.walk_revisions("base", "heads")][::-1]  # oldest first
    names = [Path(s.path).name for s in chain]
    numbers = []
    for name in names:
        m = re.match(r"^(\d{4})_", name)
        assert m, f"migration file {name} does not start with a four-digit number"
        numbers.append(int(m.group(1)))
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (
        f"file names out of chain order: {names}"
    )
    on_disk = sorted(p.name for p in Path(scripts.versions).glob("[0-9]*.py"))
    assert on_disk == names, f"files not in the chain, or chain order differs: {on_disk}"
