"""Textual bindings made from the key table: the only place keys reach Textual."""

from __future__ import annotations

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from curate.review.keys import KeyAction, for_scope


def textual_key(key: str) -> str:
    # Textual splits a binding's key string on commas, so the comma key goes by its name.
    return "comma" if key == "," else key


def bindings_for(table: tuple[KeyAction, ...], scope: str) -> list[Binding]:
    return [
        Binding(textual_key(key), entry.action, entry.footer or entry.description,
                show=entry.footer is not None and i == 0, tooltip=entry.description)
        for entry in for_scope(table, scope)
        for i, key in enumerate(entry.keys)
    ]


def install_keys(node: DOMNode, table: tuple[KeyAction, ...], scope: str) -> None:
    """Give `node` exactly the key table's bindings for `scope` (remapped per the config).

    Textual builds bindings from the class attribute BINDINGS; the table is known only at run
    time, so the node's bindings map is replaced after construction.
    """
    node._bindings = BindingsMap(bindings_for(table, scope))
