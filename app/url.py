"""A view's state in the URL's query parameters, so that a link opens the same view."""
from __future__ import annotations

import streamlit as st


class UrlState:
    """The state of a view in the URL's query parameters, so that a link opens the same view.

    Every widget that makes the view (dataset, sample, class, models, methods) takes its default from the
    link (:meth:`default`, :meth:`index`, :meth:`defaults`) and writes its value back (:meth:`share`). A
    value that is not among the widget's options (an old link, a model that is gone) falls back to the
    view's own default. Uploads are never shared: a link carries gallery samples only."""

    def __init__(self) -> None:
        self._params = st.query_params

    def raw(self, name: str) -> list[str]:
        return self._params.get_all(name) if name in self._params else []

    def index(self, name: str, options: list, default: int = 0, *, to_text=str) -> int:
        """The position in ``options`` of the linked value of ``name`` (``default`` without one)."""
        values = self.raw(name)
        texts = [to_text(o) for o in options]
        return texts.index(values[0]) if values and values[0] in texts else default

    def defaults(self, name: str, options: list, default: list, *, to_text=str) -> list:
        """The linked values of ``name`` that are among ``options`` (``default`` without any)."""
        values = self.raw(name)
        if not values:
            return default
        texts = [to_text(o) for o in options]
        chosen = [options[texts.index(v)] for v in values if v in texts]
        return chosen if chosen or values == ["-"] else default

    def number(self, name: str, low: int, high: int, default: int) -> int:
        values = self.raw(name)
        try:
            value = int(values[0]) if values else default
        except ValueError:
            return default
        return min(max(value, low), high)

    def flag(self, name: str, default: bool) -> bool:
        values = self.raw(name)
        return values[0] == "1" if values else default

    def share(self, name: str, value) -> None:
        """Put ``value`` (a scalar, a list or a bool) in the URL under ``name``."""
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (list, tuple)):
            text = [str(v) for v in value] or ["-"]  # "-": an empty choice, not "no choice in the link"
        else:
            text = str(value)
        if self._params.get_all(name) != (text if isinstance(text, list) else [text]):
            self._params[name] = text

    def follow(self, what: str, value, *names: str) -> None:
        """Forget the linked values of ``names`` when ``value`` (what they depend on, e.g. the sample)
        changed since this session's previous run: a class chosen for one input is not carried to the next."""
        seen = st.session_state.setdefault("_url_follow", {})
        if what in seen and seen[what] != value:
            self.forget(*names)
        seen[what] = value

    def select(self, where, label: str, options: list, *, key: str, param: str, default: int = 0, **selectbox):
        """``where.selectbox`` (``where``: ``st`` or a column) whose choice comes from the link under ``param``
        (``default``: the position without one) and is shared back under it."""
        value = where.selectbox(label, options, index=self.index(param, options, default), key=key, **selectbox)
        self.share(param, value)
        return value

    def forget(self, *names: str) -> None:
        for name in names:
            if name in self._params:
                del self._params[name]
