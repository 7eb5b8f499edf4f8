"""Dataclass fields given as command-line options: one rule for every command."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any


def given_fields(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of the dataclass ``cls`` whose options hold a value (not None), by name:
    what a command passes on, so that an option left out keeps the dataclass' default."""
    values = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(cls)}
    return {name: value for name, value in values.items() if value is not None}
