"""Textual bindings made from the key table: the only place keys reach Textual."""

from __future__ import annotations

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from curate.review.keys import APP_SCOPES, KeyAction, for_scope


def textual_key(key: str) -> str:
    # Textual splits a binding's key string on commas, so the comma key goes by its name.
    return "comma" if key == "," else key


def bindings_for(table: tuple[KeyAction, ...], scope: str) -> list[Binding]:
    return [
        Binding(
            textual_key(key),
            entry.action,
            entry.footer or entry.description,
            show=entry.footer is not None and i == 0,
            tooltip=entry.description,
            priority=entry.opens_dialog,
        )
        for entry in for_scope(table, scope)
        for i, key in enumerate(entry.keys)
    ]


def install_keys(node: DOMNode, table: tuple[KeyAction, ...], scope: str) -> None:
    """Add the key table's bindings for `scope` (remapped per the config) to `node`'s own.

    Textual builds bindings from the class attribute BINDINGS; the table is known only at run
    time, so it is merged in after construction. Textual's defaults (Tab / Shift+Tab between
    fields, ctrl+p for the command palette) stay, except on a key the table binds: the table wins.
    """
    ours = BindingsMap(bindings_for(table, scope))
    taken = set(ours.key_to_bindings)
    if scope in APP_SCOPES:  # a screen's default would shadow an app key (ctrl+c: copy, not quit)
        taken |= set(BindingsMap(bindings_for(table, "app")).key_to_bindings)
    defaults = {key: bindings for key, bindings in node._bindings.key_to_bindings.items() if key not in taken}
    node._bindings = BindingsMap.merge([BindingsMap.from_keys(defaults), ours])
